// Security keys (WebAuthn): add one under "Second factor", use one at sign-in.
// The server sends options as JSON with base64url binary fields; the browser API wants ArrayBuffers.
import { csrfToken } from "./api.js";

const b64urlToBuffer = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
};
const bufferToB64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

const showError = (message) => {
  const box = document.getElementById("security-key-error");
  if (box) { box.textContent = message; box.hidden = false; }
};

const post = (url, body) =>
  fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), "Content-Type": "application/json" },
    body,
  });

async function addKey() {
  const options = await (await post("/settings/mfa/keys/options")).json();
  options.challenge = b64urlToBuffer(options.challenge);
  options.user.id = b64urlToBuffer(options.user.id);
  options.excludeCredentials = (options.excludeCredentials || []).map((c) => ({ ...c, id: b64urlToBuffer(c.id) }));
  const credential = await navigator.credentials.create({ publicKey: options });
  const answer = {
    id: credential.id,
    rawId: bufferToB64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToB64url(credential.response.clientDataJSON),
      attestationObject: bufferToB64url(credential.response.attestationObject),
    },
  };
  const name = encodeURIComponent(document.getElementById("key-name")?.value || "");
  const done = await post(`/settings/mfa/keys?name=${name}`, JSON.stringify(answer));
  if (!done.ok) { showError((await done.json()).message); return; }
  window.location.reload();
}

async function useKey(next) {
  const options = await (await post("/login/mfa/key/options")).json();
  options.challenge = b64urlToBuffer(options.challenge);
  options.allowCredentials = (options.allowCredentials || []).map((c) => ({ ...c, id: b64urlToBuffer(c.id) }));
  const credential = await navigator.credentials.get({ publicKey: options });
  const answer = {
    id: credential.id,
    rawId: bufferToB64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToB64url(credential.response.clientDataJSON),
      authenticatorData: bufferToB64url(credential.response.authenticatorData),
      signature: bufferToB64url(credential.response.signature),
      userHandle: credential.response.userHandle ? bufferToB64url(credential.response.userHandle) : null,
    },
  };
  const done = await post(`/login/mfa/key?next=${encodeURIComponent(next)}`, JSON.stringify(answer));
  const body = await done.json();
  if (!done.ok) { showError(body.message); return; }
  window.location.assign(body.next);
}

document.getElementById("add-security-key")?.addEventListener("click", () => addKey().catch((e) => showError(String(e))));
const use = document.getElementById("use-security-key");
use?.addEventListener("click", () => useKey(use.dataset.next || "/files").catch((e) => showError(String(e))));
