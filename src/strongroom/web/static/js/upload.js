// Drag-and-drop and picker uploads with tus (resumable, chunked), per-file and overall progress,
// folders (webkitGetAsEntry / webkitdirectory), automatic retry after a dropped network, and resume
// after a page reload (tus-js-client keeps each upload's URL in localStorage under a fingerprint).
import "../vendor/tus.min.js";
import { announce, api, ApiError, csrfToken, el, formatBytes } from "./api.js";

const tus = window.tus;
const CHUNK = 8 * 1024 * 1024;
// Keep retrying for several minutes: a police laptop in a car loses signal often.
const RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 30000, 30000, 30000, 60000, 60000, 60000];

export class Uploader {
  constructor({ folderId, list, section, overallBar, overallState, onAllDone }) {
    this.folderId = folderId;
    this.list = list;
    this.section = section;
    this.overallBar = overallBar;
    this.overallState = overallState;
    this.onAllDone = onAllDone;
    this.jobs = [];
    this.folderIds = new Map([["", folderId]]);
  }

  async addFiles(entries) {
    // entries: [{file, path}] where path is the folder path relative to the drop ("" for plain files)
    this.section.hidden = false;
    for (const { file, path } of entries) {
      const job = this.renderJob(file, path);
      this.jobs.push(job);
    }
    this.updateOverall();
    for (const job of this.jobs.filter((j) => j.state === "queued")) {
      try {
        job.targetId = await this.ensureFolder(job.path);
        await this.start(job);
      } catch (error) {
        this.fail(job, error);
      }
    }
  }

  renderJob(file, path) {
    const label = path ? `${path}/${file.name}` : file.name;
    const bar = el("progress", { class: "sr-progress", max: "100", value: "0" });
    const state = el("span", { class: "sr-upload__state", text: "Waiting" });
    const name = el("span", { class: "sr-upload__name", text: label });
    const item = el("li", { class: "sr-upload" }, el("div", { class: "sr-upload__row" }, name, state), bar);
    bar.setAttribute("aria-label", `Upload of ${label}`);
    this.list.append(item);
    return { file, path, label, bar, stateEl: state, item, sent: 0, state: "queued", targetId: null };
  }

  async ensureFolder(path) {
    if (this.folderIds.has(path)) return this.folderIds.get(path);
    const parts = path.split("/");
    const name = parts.pop();
    const parentId = await this.ensureFolder(parts.join("/"));
    let id;
    try {
      id = (await api("POST", "/api/v1/folders", { name, parent_id: parentId })).id;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409) throw error;
      id = await findFolder(parentId, name);
      if (!id) throw error;
    }
    this.folderIds.set(path, id);
    return id;
  }

  start(job) {
    return new Promise((resolve) => {
      const folderId = job.targetId;
      const upload = new tus.Upload(job.file, {
        endpoint: "/api/v1/uploads",
        chunkSize: CHUNK,
        retryDelays: RETRY_DELAYS,
        removeFingerprintOnSuccess: true,
        storeFingerprintForResuming: true,
        headers: { "X-CSRF-Token": csrfToken() },
        metadata: { filename: job.file.name, folder_id: folderId, filetype: job.file.type || "application/octet-stream" },
        fingerprint: (file) => Promise.resolve(["strongroom", folderId, file.name, file.size, file.lastModified].join(":")),
        onProgress: (sent, total) => {
          // Where this session's first chunk ended: after a resume, well past zero.
          if (!job.item.dataset.firstSent) job.item.dataset.firstSent = String(sent);
          job.sent = sent;
          job.state = "uploading";
          job.bar.value = total ? Math.floor((sent / total) * 100) : 100;
          job.stateEl.textContent = `${formatBytes(sent)} of ${formatBytes(total)}`;
          this.updateOverall();
        },
        onShouldRetry: (error, attempt) => {
          job.stateEl.textContent = navigator.onLine ? `Connection problem – retrying (${attempt + 1})` : "Offline – will resume when the connection returns";
          const status = error?.originalResponse?.getStatus?.() || 0;
          return status === 0 || status === 409 || status === 423 || status >= 500;
        },
        onError: (error) => { this.fail(job, error); resolve(); },
        onSuccess: () => {
          job.state = "done";
          job.sent = job.file.size;
          job.bar.value = 100;
          job.item.classList.add("sr-upload--done");
          job.stateEl.textContent = "Uploaded";
          this.updateOverall();
          resolve();
        },
      });
      job.upload = upload;
      job.state = "uploading";
      job.stateEl.textContent = "Starting";
      upload.findPreviousUploads().then((previous) => {
        if (previous.length) {
          job.stateEl.textContent = "Resuming an earlier upload";
          job.item.dataset.resumed = "true";
          upload.resumeFromPreviousUpload(previous[0]);
        }
        upload.start();
      });
    });
  }

  fail(job, error) {
    job.state = "error";
    job.item.classList.add("sr-upload--error");
    const body = error?.originalResponse?.getBody?.();
    let message = error?.message || String(error);
    try { message = JSON.parse(body).message || message; } catch { /* not JSON */ }
    job.stateEl.textContent = `Failed: ${message}`;
    announce(`Upload of ${job.label} failed.`);
    this.updateOverall();
  }

  updateOverall() {
    const total = this.jobs.reduce((n, j) => n + j.file.size, 0);
    const sent = this.jobs.reduce((n, j) => n + (j.state === "done" ? j.file.size : j.sent), 0);
    const done = this.jobs.filter((j) => j.state === "done").length;
    const failed = this.jobs.filter((j) => j.state === "error").length;
    this.overallBar.value = total ? Math.floor((sent / total) * 100) : 100;
    this.overallState.textContent = `${done} of ${this.jobs.length} files · ${formatBytes(sent)} of ${formatBytes(total)}${failed ? ` · ${failed} failed` : ""}`;
    if (done + failed === this.jobs.length && this.jobs.length) {
      announce(`${done} files uploaded${failed ? `, ${failed} failed` : ""}.`);
      if (!failed) this.onAllDone?.();
    }
  }
}

async function findFolder(parentId, name) {
  let marker = null;
  do {
    const query = new URLSearchParams({ limit: "1000" });
    if (marker) query.set("marker", marker);
    const page = await api("GET", `/api/v1/folders/${parentId}/items?${query}`);
    const hit = page.items.find((i) => i.type === "folder" && i.name.toLowerCase() === name.toLowerCase());
    if (hit) return hit.id;
    marker = page.next_marker;
  } while (marker);
  return null;
}

// Files from a drop: walk directories with the entries API so whole folders keep their structure.
export async function entriesFromDrop(dataTransfer) {
  const roots = [...dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!roots.length) return [...dataTransfer.files].map((file) => ({ file, path: "" }));
  const out = [];
  async function walk(entry, path) {
    if (entry.isFile) {
      const file = await new Promise((ok, bad) => entry.file(ok, bad));
      out.push({ file, path });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const sub = path ? `${path}/${entry.name}` : entry.name;
      for (;;) {
        const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
        if (!batch.length) break;
        for (const child of batch) await walk(child, sub);
      }
    }
  }
  for (const root of roots) await walk(root, "");
  return out;
}

export function entriesFromInput(input) {
  return [...input.files].map((file) => {
    const rel = file.webkitRelativePath || "";
    const path = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    return { file, path };
  });
}

// Uploads interrupted by a reload or a closed tab: tell the user which files to choose again.
export async function pendingUploads(folderId) {
  try {
    const all = await tus.defaultOptions.urlStorage.findAllUploads();
    return all.filter((u) => u.metadata?.folder_id === folderId).map((u) => u.metadata.filename);
  } catch {
    return [];
  }
}
