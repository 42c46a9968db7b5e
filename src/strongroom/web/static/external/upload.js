// Upload requests: send files in chunks that resume after a dropped connection (progressive
// enhancement; without JavaScript the form posts as multipart). No inline script: CSP forbids it.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.Blob) { return; }
  var api = form.getAttribute("data-api");
  var progress = document.getElementById("progress");
  var progressText = document.getElementById("progress-text");
  var progressBar = document.getElementById("progress-bar");
  var problem = document.getElementById("upload-error");
  var CHUNK = 8 * 1024 * 1024;
  var total = 0, doneBefore = 0;

  function say(text, sentOfFile) {
    progress.hidden = false;
    progressText.textContent = text;
    if (sentOfFile !== undefined && total > 0) {
      progressBar.value = Math.min(100, Math.floor(100 * (doneBefore + sentOfFile) / total));
    }
  }

  // The error summary links to the field at fault: a form field when the form was refused, else the files.
  function fail(err) {
    progress.hidden = true;
    var target = err.aboutForm && err.field && document.getElementById("f-" + err.field) ? "f-" + err.field : "files";
    var field = document.getElementById(target);
    field.setAttribute("aria-invalid", "true");
    field.classList.add("is-invalid");
    var link = document.createElement("a");
    link.href = "#" + target;
    link.textContent = err.message;
    document.getElementById("upload-error-text").replaceChildren(link);
    problem.hidden = false;
    problem.focus();
  }

  function json(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          var err = new Error(data.message || ("HTTP " + r.status));
          err.field = data.details && data.details.field;
          throw err;
        }
        return data;
      });
    });
  }

  function sendFile(sid, file, index, count) {
    return json("POST", api + "/submissions/" + sid + "/files",
      { name: file.name, size: file.size, content_type: file.type || null }).then(function (info) {
      var url = api + "/submissions/" + sid + "/files/" + info.id;
      function next(offset, tries) {
        if (offset >= file.size) { return Promise.resolve(); }
        say("Sending " + file.name + " (file " + (index + 1) + " of " + count + "): " +
          Math.floor(100 * offset / file.size) + "%", offset);
        return fetch(url, {
          method: "PATCH", credentials: "same-origin",
          headers: { "Upload-Offset": String(offset), "Content-Type": "application/offset+octet-stream" },
          body: file.slice(offset, Math.min(offset + CHUNK, file.size))
        }).then(function (r) {
          return r.json().then(function (data) {
            if (r.ok) { say("Sending " + file.name + " (file " + (index + 1) + " of " + count + "): " +
              Math.floor(100 * data.offset / file.size) + "%", data.offset); return next(data.offset, 0); }
            if (r.status === 409 && data.details) { return next(data.details.offset, tries); }
            throw new Error(data.message || ("HTTP " + r.status));
          });
        }, function () {
          if (tries > 20) { throw new Error("The connection keeps failing. Try again later."); }
          // Connection lost: wait, ask the server where the file stands, and carry on from there.
          say("The connection dropped. Trying again in a moment; nothing you sent is lost.", offset);
          return new Promise(function (ok) { setTimeout(ok, Math.min(30000, 1000 * Math.pow(2, tries))); })
            .then(function () { return json("GET", url); })
            .then(function (state) { return next(state.offset, tries + 1); },
                  function () { return next(offset, tries + 1); });
        });
      }
      return next(0, 0);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var files = document.getElementById("files").files;
    problem.hidden = true;
    Array.prototype.forEach.call(form.querySelectorAll(".is-invalid"), function (el) {
      el.removeAttribute("aria-invalid");
      el.classList.remove("is-invalid");
    });
    if (!files.length) { fail(new Error("Choose at least one file to send.")); return; }
    total = 0; doneBefore = 0;
    Array.prototype.forEach.call(files, function (f) { total += f.size; });
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.name !== "files" && el.type !== "file") { fields[el.name] = el.value; }
    });
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    json("POST", api + "/submissions", { form: fields }).catch(function (err) {
      err.aboutForm = true;
      throw err;
    }).then(function (sub) {
      var chain = Promise.resolve();
      Array.prototype.forEach.call(files, function (file, i) {
        chain = chain.then(function () { return sendFile(sub.id, file, i, files.length); })
          .then(function () { doneBefore += file.size; });
      });
      return chain.then(function () {
        say("Checking and sealing your files. This can take a minute for large files.", 0);
        return json("POST", api + "/submissions/" + sub.id + "/complete");
      })
        .then(function (receipt) { window.location.assign(form.getAttribute("action") + "/receipt/" + receipt.reference); });
    }).catch(function (err) {
      button.disabled = false;
      fail(err);
    });
  });
}());
