// Native <dialog> handling: focus goes in on open, back to the opener on close; Escape closes.
let opener = null;

export function openDialog(id) {
  const dialog = document.getElementById(id);
  opener = document.activeElement;
  for (const box of dialog.querySelectorAll("[data-error]")) box.hidden = true;
  dialog.showModal();
  const first = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea, button[type=submit]");
  first?.focus();
  return dialog;
}

export function closeDialog(dialog) {
  dialog.close();
  if (opener && document.contains(opener)) opener.focus();
}

export function showError(dialog, message) {
  const box = dialog.querySelector("[data-error]");
  box.textContent = message;
  box.hidden = false;
  box.focus?.();
}

export function wireDialogs() {
  for (const dialog of document.querySelectorAll("dialog.sr-dialog")) {
    for (const button of dialog.querySelectorAll("[data-close]")) {
      button.addEventListener("click", () => closeDialog(dialog));
    }
    dialog.addEventListener("close", () => { if (opener && document.contains(opener)) opener.focus(); });
  }
}
