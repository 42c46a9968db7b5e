// The file browser: multi-select, toolbar actions (rename, move, share, download, delete), new folder,
// and uploads. Every change goes through the REST API; the page then reloads to show the result.
import { announce, api, el } from "./api.js";
import { closeDialog, openDialog, showError, wireDialogs } from "./dialogs.js";
import { wireShareDialogs, openShare, openUploadRequest } from "./share.js";
import { entriesFromDrop, entriesFromInput, pendingUploads, Uploader } from "./upload.js";

const root = document.getElementById("browser");
const folderId = root.dataset.folderId;
const table = document.getElementById("items");
const selectAll = document.getElementById("select-all");
const countEl = document.getElementById("selection-count");
const toolbar = document.querySelector(".sr-toolbar");

const rows = () => [...table.querySelectorAll("tbody tr[data-id]")];
const selected = () => rows().filter((r) => r.querySelector(".sr-select").checked);

function refreshSelection() {
  const chosen = selected();
  for (const row of rows()) row.classList.toggle("is-selected", row.querySelector(".sr-select").checked);
  const n = chosen.length;
  countEl.textContent = n ? `${n} item${n === 1 ? "" : "s"} selected` : "No items selected";
  const single = n === 1;
  const files = chosen.every((r) => r.dataset.type === "file");
  setEnabled("rename", single);
  setEnabled("move", n > 0);
  setEnabled("delete", n > 0);
  setEnabled("share", single);
  setEnabled("download", n > 0 && n <= 200);
  selectAll.checked = n > 0 && n === rows().length;
  selectAll.indeterminate = n > 0 && n < rows().length;
}

function setEnabled(action, on) {
  const button = toolbar.querySelector(`[data-action="${action}"]`);
  if (button) button.disabled = !on;
}

let lastClicked = null;
table.addEventListener("click", (event) => {
  const box = event.target.closest(".sr-select");
  if (!box) return;
  const all = rows();
  const row = box.closest("tr");
  if (event.shiftKey && lastClicked) {
    // Shift-click selects the range, as in every desktop file manager.
    const [a, b] = [all.indexOf(lastClicked), all.indexOf(row)].sort((x, y) => x - y);
    for (const r of all.slice(a, b + 1)) r.querySelector(".sr-select").checked = box.checked;
  }
  lastClicked = row;
  refreshSelection();
});
table.addEventListener("change", refreshSelection);
selectAll.addEventListener("change", () => {
  for (const row of rows()) row.querySelector(".sr-select").checked = selectAll.checked;
  refreshSelection();
});
document.addEventListener("keydown", (event) => {
  // Ctrl/Cmd+A inside the table selects every item on the page; Delete opens the delete dialog.
  if (!table.contains(document.activeElement)) return;
  if ((event.ctrlKey || event.metaKey) && event.key === "a") {
    event.preventDefault();
    selectAll.checked = true;
    selectAll.dispatchEvent(new Event("change"));
  } else if (event.key === "Delete" && selected().length) {
    event.preventDefault();
    openDelete();
  }
});

const reload = () => window.location.reload();
const apiPath = (row) => `/api/v1/${row.dataset.type === "folder" ? "folders" : "files"}/${row.dataset.id}`;

// New folder
document.querySelector('[data-action="new-folder"]').addEventListener("click", () => {
  const dialog = openDialog("dialog-new-folder");
  dialog.querySelector("input").value = "";
});
document.querySelector('[data-form="new-folder"]').addEventListener("submit", async (event) => {
  event.preventDefault();
  const dialog = event.target.closest("dialog");
  const name = event.target.elements.name.value.trim();
  try {
    await api("POST", "/api/v1/folders", { name, parent_id: folderId });
    announce(`Folder ${name} created.`);
    closeDialog(dialog);
    reload();
  } catch (error) {
    showError(dialog, error.message);
  }
});

// Rename
toolbar.querySelector('[data-action="rename"]').addEventListener("click", () => {
  const row = selected()[0];
  const dialog = openDialog("dialog-rename");
  const input = dialog.querySelector("input");
  input.value = row.dataset.name;
  const dot = row.dataset.type === "file" ? row.dataset.name.lastIndexOf(".") : -1;
  input.setSelectionRange(0, dot > 0 ? dot : row.dataset.name.length);
});
document.querySelector('[data-form="rename"]').addEventListener("submit", async (event) => {
  event.preventDefault();
  const dialog = event.target.closest("dialog");
  const row = selected()[0];
  try {
    await api("PATCH", apiPath(row), { name: event.target.elements.name.value.trim() }, { "If-Match": row.dataset.etag });
    closeDialog(dialog);
    reload();
  } catch (error) {
    showError(dialog, error.message);
  }
});

// Move: a small folder picker that walks the tree through the API.
let moveTarget = { id: "root", name: "All files" };
async function showMoveLevel(dialog, target, parentStack) {
  moveTarget = target;
  dialog.querySelector("[data-move-current]").textContent = target.name;
  const list = dialog.querySelector("[data-move-list]");
  list.replaceChildren(el("li", { class: "sr-muted", text: "Loading…" }));
  const page = await api("GET", `/api/v1/folders/${target.id}/items?limit=1000`);
  const moving = new Set(selected().map((r) => r.dataset.id));
  const items = [];
  if (parentStack.length) {
    const up = el("button", { type: "button", class: "sr-link-button", text: "↑ Up one level" });
    up.addEventListener("click", () => showMoveLevel(dialog, parentStack.at(-1), parentStack.slice(0, -1)));
    items.push(el("li", { class: "sr-upload" }, up));
  }
  for (const folder of page.items.filter((i) => i.type === "folder" && !moving.has(i.id))) {
    const open = el("button", { type: "button", class: "sr-link-button", text: `Open ${folder.name}` });
    open.addEventListener("click", () => showMoveLevel(dialog, { id: folder.id, name: folder.name }, [...parentStack, target]));
    items.push(el("li", { class: "sr-upload" }, open));
  }
  if (!items.length) items.push(el("li", { class: "sr-muted", text: "No folders here." }));
  list.replaceChildren(...items);
}
toolbar.querySelector('[data-action="move"]').addEventListener("click", () => {
  const dialog = openDialog("dialog-move");
  showMoveLevel(dialog, { id: "root", name: "All files" }, []).catch((error) => showError(dialog, error.message));
});
document.querySelector('[data-form="move"]').addEventListener("submit", async (event) => {
  event.preventDefault();
  const dialog = event.target.closest("dialog");
  try {
    for (const row of selected()) {
      await api("PATCH", apiPath(row), { parent_id: moveTarget.id }, { "If-Match": row.dataset.etag });
    }
    closeDialog(dialog);
    reload();
  } catch (error) {
    showError(dialog, error.message);
  }
});

// Delete (to trash)
function openDelete() {
  const chosen = selected();
  const dialog = openDialog("dialog-delete");
  dialog.querySelector("[data-delete-summary]").textContent =
    chosen.length === 1 ? `“${chosen[0].dataset.name}” will be moved to the trash.` : `${chosen.length} items will be moved to the trash.`;
}
toolbar.querySelector('[data-action="delete"]').addEventListener("click", openDelete);
document.querySelector('[data-form="delete"]').addEventListener("submit", async (event) => {
  event.preventDefault();
  const dialog = event.target.closest("dialog");
  try {
    for (const row of selected()) await api("DELETE", apiPath(row), undefined, { "If-Match": row.dataset.etag });
    closeDialog(dialog);
    reload();
  } catch (error) {
    showError(dialog, error.message);
  }
});

toolbar.querySelector('[data-action="download"]').addEventListener("click", () => {
  const chosen = selected();
  const row = chosen[0];
  // One file: its own bytes. Folders or several items: one zip, streamed by the server.
  const one = chosen.length === 1 && row.dataset.type === "file";
  const query = chosen.map((r) => `item_id=${encodeURIComponent(r.dataset.id)}`).join("&");
  const href = one ? `/api/v1/files/${row.dataset.id}/content` : `/api/v1/zips?${query}`;
  const link = el("a", one ? { href, download: row.dataset.name } : { href });
  document.body.append(link);
  link.click();
  link.remove();
});
toolbar.querySelector('[data-action="share"]')?.addEventListener("click", () => {
  const row = selected()[0];
  openShare({ id: row.dataset.id, name: row.dataset.name, type: row.dataset.type });
});
document.querySelector('[data-action="upload-request"]')?.addEventListener("click", () => openUploadRequest(folderId));

// Uploads
const uploader = new Uploader({
  folderId,
  list: document.getElementById("upload-list"),
  section: document.getElementById("uploads"),
  overallBar: document.getElementById("overall-progress"),
  overallState: document.getElementById("overall-state"),
  onAllDone: () => window.setTimeout(reload, 1200),
});
const fileInput = document.getElementById("file-input");
const folderInput = document.getElementById("folder-input");
document.querySelector('[data-action="pick-files"]').addEventListener("click", () => fileInput.click());
document.querySelector('[data-action="pick-folder"]').addEventListener("click", () => folderInput.click());
for (const input of [fileInput, folderInput]) {
  input.addEventListener("change", () => {
    const entries = entriesFromInput(input);
    input.value = "";
    uploader.addFiles(entries);
  });
}
const dropzone = document.getElementById("dropzone");
for (const target of [dropzone, root]) {
  target.addEventListener("dragover", (event) => { event.preventDefault(); dropzone.classList.add("is-dragover"); });
  target.addEventListener("dragleave", () => dropzone.classList.remove("is-dragover"));
  target.addEventListener("drop", async (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-dragover");
    uploader.addFiles(await entriesFromDrop(event.dataTransfer));
  });
}
pendingUploads(folderId).then((names) => {
  if (!names.length) return;
  const note = el("div", { class: "sr-notice sr-notice--warning", role: "status" },
    el("strong", { text: "Unfinished uploads: " }),
    `${names.join(", ")}. Choose ${names.length === 1 ? "this file" : "these files"} again and the upload carries on where it stopped.`);
  dropzone.before(note);
});

wireDialogs();
wireShareDialogs();
refreshSelection();
