// Every external page: a link in an error summary moves focus to its field, not only the view, so a
// keyboard or screen-reader user lands where the fix is (as GOV.UK's error summary does).
// No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".sr-error-summary a[href^='#']");
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']");
    (label || field).scrollIntoView({ block: "start" });
    field.focus({ preventScroll: true });
  });
  // Preview-only links: no "Save video as…" on right-click either (the player's own button is
  // already gone through controlslist="nodownload").
  Array.prototype.forEach.call(document.querySelectorAll("[data-no-save]"), function (media) {
    media.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  });
  // "Print this receipt" needs script, so it is shown only when script runs.
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // Downloads left: after a download starts the page stays (the file arrives as an attachment), so ask
  // the server for the new count and show it; when none are left, say so and take the buttons away.
  function refreshLimits(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) {
        if (!body || body.downloads_left === null || body.downloads_left === undefined) { return; }
        Array.prototype.forEach.call(document.querySelectorAll("[data-remaining]"), function (cell) {
          cell.textContent = String(body.downloads_left);
        });
        if (body.downloads_left === 0) {
          Array.prototype.forEach.call(document.querySelectorAll("[data-download]"), function (control) {
            control.hidden = true;
          });
          var notice = document.querySelector("[data-used-up]");
          if (notice) { notice.hidden = false; }
        }
      })
      .catch(function () { /* the count shown stays; the next page load corrects it */ });
  }
  document.addEventListener("click", function (event) {
    var control = event.target.closest && event.target.closest("a[data-download], button[data-download]");
    if (!control) { return; }
    var url = control.getAttribute("data-limits");
    [800, 2500].forEach(function (delay) { window.setTimeout(function () { refreshLimits(url); }, delay); });
  });
}());
