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

// A message goes where the user is looking: beside the button they pressed (or above the dialog's
// footer when the button is there), scrolled into view, and takes focus so screen readers say it.
export function showError(dialog, message) {
  const box = dialog.querySelector("[data-error]");
  box.textContent = message;
  box.hidden = false;
  box.setAttribute("tabindex", "-1");
  const pressed = dialog.contains(document.activeElement) ? document.activeElement : null;
  const button = pressed?.closest("form")?.querySelector("[type=submit]") || pressed;
  if (button?.closest(".sr-dialog__foot")) {
    dialog.querySelector(".sr-dialog__body")?.append(box);
  } else if (button && button !== dialog) {
    button.before(box);
  }
  box.scrollIntoView({ block: "nearest" });
  box.focus({ preventScroll: true });
}

// A new attempt starts without the last one's refusal.
export function clearError(dialog) {
  for (const box of dialog.querySelectorAll("[data-error]")) box.hidden = true;
}

export function wireDialogs() {
  for (const dialog of document.querySelectorAll("dialog.sr-dialog")) {
    for (const button of dialog.querySelectorAll("[data-close]")) {
      button.addEventListener("click", () => closeDialog(dialog));
    }
    dialog.addEventListener("close", () => { if (opener && document.contains(opener)) opener.focus(); });
  }
}
