// Starts the vendored Swagger UI on /api/v1/docs. validatorUrl: null stops it from sending the API
// description to validator.swagger.io (and from loading its badge): nothing leaves this server.
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({
    url: document.body.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
