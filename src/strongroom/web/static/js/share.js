// The share dialog (secure links with every option, and collaborations) and the upload-request dialog.
import { announce, api, el } from "./api.js";
import { clearError, openDialog, showError } from "./dialogs.js";

let current = null;

export function openShare(item) {
  current = item;
  const dialog = openDialog("dialog-share");
  dialog.querySelector("[data-share-name]").textContent = item.name;
  dialog.querySelector("[data-share-result]").hidden = true;
  loadLinks(dialog);
}

async function loadLinks(dialog) {
  const list = dialog.querySelector("[data-share-links]");
  try {
    const links = await api("GET", `/api/v1/items/${current.id}/shared-links`);
    const live = links.filter((l) => !l.revoked_at);
    if (!live.length) {
      list.replaceChildren(el("li", { class: "sr-muted", text: "No links yet." }));
      return;
    }
    list.replaceChildren(...live.map((link) => {
      const facts = [
        link.preview_only ? "preview only" : "download allowed",
        link.recipients.length ? `for ${link.recipients.join(", ")}` : link.access_level,
        link.has_password ? "password" : null,
        link.expires_at ? `expires ${new Date(link.expires_at).toLocaleDateString("en-GB")}` : "no expiry",
        link.download_limit ? `${link.download_count}/${link.download_limit} downloads` : null,
      ].filter(Boolean).join(" · ");
      const revoke = el("button", { type: "button", class: "sr-button sr-button--warning sr-button--small", text: "Revoke" });
      // Revoking cannot be undone: the first press asks, the second revokes.
      revoke.addEventListener("click", async () => {
        if (revoke.dataset.confirm !== "yes") {
          revoke.dataset.confirm = "yes";
          revoke.textContent = "Yes, revoke it now";
          announce("Press again to revoke the link. Anyone with it loses access at once; this cannot be undone.");
          return;
        }
        try {
          await api("POST", `/api/v1/shared-links/${link.id}/revoke`);
          announce("Link revoked.");
          loadLinks(dialog);
        } catch (error) {
          showError(dialog, error.message);
        }
      });
      return el("li", { class: "sr-upload" },
        el("div", { class: "sr-upload__row" }, el("span", { class: "sr-upload__name", text: link.name || "Link" }), revoke),
        el("p", { class: "sr-hint", text: facts }));
    }));
  } catch (error) {
    list.replaceChildren(el("li", { class: "sr-muted", text: `Links cannot be listed: ${error.message}` }));
  }
}

async function createLink(event) {
  event.preventDefault();
  const form = event.target;
  const dialog = form.closest("dialog");
  clearError(dialog);
  const f = form.elements;
  const recipients = f.recipients.value.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  const body = {
    name: f.name.value.trim(),
    access_level: f.access_level.value,
    preview_only: f.mode.value === "preview",
    recipients,
    about: f.about.value.trim(),
    notify_owner: f.notify_owner.checked,
    send_mail: f.send_mail.checked && recipients.length > 0,
  };
  if (f.expires_in_days.value) body.expires_in_days = Number(f.expires_in_days.value);
  if (f.download_limit.value) body.download_limit = Number(f.download_limit.value);
  if (f.password.value) body.password = f.password.value;
  try {
    const link = await api("POST", `/api/v1/items/${current.id}/shared-links`, body);
    const result = dialog.querySelector("[data-share-result]");
    result.hidden = false;
    const url = dialog.querySelector("#share-link-url");
    url.value = link.url;
    url.focus();
    url.select();
    announce(body.send_mail ? `Link created and e-mailed to ${recipients.join(", ")}.` : "Link created.");
    form.reset();
    loadLinks(dialog);
  } catch (error) {
    showError(dialog, error.message);
  }
}

async function addPerson(event) {
  event.preventDefault();
  const form = event.target;
  const dialog = form.closest("dialog");
  clearError(dialog);
  try {
    await api("POST", `/api/v1/items/${current.id}/collaborations`, {
      user_email: form.elements.user_email.value.trim(),
      role: form.elements.role.value,
    });
    announce(`${form.elements.user_email.value} added.`);
    form.reset();
  } catch (error) {
    showError(dialog, error.message);
  }
}

let requestFolder = null;
export function openUploadRequest(folderId) {
  requestFolder = folderId;
  const dialog = openDialog("dialog-upload-request");
  dialog.querySelector("[data-request-result]").hidden = true;
}

async function createRequest(event) {
  event.preventDefault();
  const form = event.target;
  const dialog = form.closest("dialog");
  clearError(dialog);
  const f = form.elements;
  const body = { title: f.title.value.trim(), instructions: f.instructions.value, single_use: f.single_use.checked };
  if (f.expires_in_days.value) body.expires_in_days = Number(f.expires_in_days.value);
  if (f.max_gb.value) body.max_bytes = Math.round(Number(f.max_gb.value) * 1e9);
  body.allowed_types = f.allowed_types.value.split(",").map((t) => t.trim()).filter(Boolean);
  if (f.password.value) body.password = f.password.value;
  try {
    const made = await api("POST", `/api/v1/folders/${requestFolder}/upload-requests`, body);
    dialog.querySelector("[data-request-result]").hidden = false;
    const url = dialog.querySelector("#request-url");
    url.value = made.url;
    url.focus();
    url.select();
    announce("Upload link created.");
  } catch (error) {
    showError(dialog, error.message);
  }
}

export function wireShareDialogs() {
  document.querySelector('[data-form="share-link"]')?.addEventListener("submit", createLink);
  document.querySelector('[data-form="share-people"]')?.addEventListener("submit", addPerson);
  document.querySelector('[data-form="upload-request"]')?.addEventListener("submit", createRequest);
  document.querySelector("[data-copy-link]")?.addEventListener("click", async () => {
    const url = document.getElementById("share-link-url");
    try { await navigator.clipboard.writeText(url.value); announce("Link copied."); } catch { url.select(); }
  });
}
