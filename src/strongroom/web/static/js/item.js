// The item page: previews (pdf.js into a canvas, text as text), version restore, access report, share.
import { announce, api, el } from "./api.js";
import { wireDialogs } from "./dialogs.js";
import { showPdf } from "./pdf-viewer.js";
import { openShare, wireShareDialogs } from "./share.js";

const preview = document.getElementById("preview");
const actions = document.getElementById("item-actions");
const MAX_TEXT = 2 * 1024 * 1024;

async function showText() {
  const response = await fetch(preview.dataset.contentUrl, { headers: { Range: `bytes=0-${MAX_TEXT - 1}` }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`The server answered ${response.status}.`);
  const text = await response.text();
  // textContent, never innerHTML: uploaded HTML and SVG are shown as their source, never run.
  const pre = el("pre", { class: "sr-text-preview", tabindex: "0", "aria-label": "File contents" });
  pre.textContent = text;
  const parts = [pre];
  if (response.status === 206) parts.push(el("p", { class: "sr-hint", text: "Only the first 2 MB are shown. Download the file to see all of it." }));
  preview.replaceChildren(...parts);
}

async function waitForDocument() {
  // The PDF of a Word, Excel, PowerPoint or OpenDocument file is made by a background job: ask for it,
  // poll its state, then show it. Only the state is polled: the copy is fetched once, to be shown.
  const url = preview.dataset.renditionUrl;
  const stateUrl = url.replace(/\/preview(\?|$)/, "/preview/state$1");
  const stateOf = async () => { try { return await api("GET", stateUrl); } catch { return null; } };
  let state = await stateOf();
  if (!state || state.state !== "ready") {
    const note = el("p", { class: "sr-muted", role: "status", text: "Preparing a preview of this document. This page updates when it is ready." });
    preview.replaceChildren(note);
    try { await api("POST", url); } catch { /* the state poll below says what is wrong */ }
    for (let i = 0; i < 120 && !(state && ["ready", "unsupported"].includes(state.state)); i += 1) {
      await new Promise((ok) => setTimeout(ok, i ? 2000 : 200));
      state = await stateOf();
    }
    if (!state || state.state !== "ready") {
      const reason = state && state.state === "unsupported" ? state.reason : "The preview is taking longer than expected.";
      preview.replaceChildren(el("p", { id: "no-preview" }, el("strong", { text: "No preview. " }), `${reason || ""} Download the file to open it with the right program.`));
      return;
    }
  }
  await showPdf(preview, url);
}

function noPreview(player, note, reason) {
  // The job refused the bytes or ffmpeg could not decode them: say so, and stop asking.
  player.remove();
  note.replaceChildren(el("strong", { text: "No preview. " }), `${reason || "The preview could not be made."} Download the file to open it with the right program.`);
}

async function watchRendition() {
  // A converted copy is made by a background job; ask for it, then poll its state until it is ready.
  // Only the state is asked for: fetching the copy itself would be recorded as a read nobody made.
  const player = document.getElementById("player");
  const url = preview.dataset.renditionUrl;
  const stateUrl = url.replace(/\/preview(\?|$)/, "/preview/state$1");
  const stateOf = async () => { try { return await api("GET", stateUrl); } catch { return null; } };
  const first = await stateOf();
  if (first && first.state === "ready") return;
  player.hidden = true;
  const note = el("p", { class: "sr-muted", role: "status", text: "Preparing a playable copy of this recording. This page updates when it is ready." });
  preview.append(note);
  try { await api("POST", url); } catch { /* the state poll below says what is wrong */ }
  for (let i = 0; i < 120; i += 1) {
    const state = await stateOf();
    if (state && state.state === "unsupported") { noPreview(player, note, state.reason); return; }
    if (state && state.state === "waiting_for_scan" && state.scan) {
      note.textContent = `${state.scan.label}${state.scan.detail ? ` (${state.scan.detail})` : ""}. The preview is made once the scan passes.`;
    }
    if (state && state.state === "ready") {
      note.remove();
      player.hidden = false;
      player.load(); // still preload="none": nothing is fetched until play is pressed
      announce("The recording is ready to play.");
      return;
    }
    await new Promise((ok) => setTimeout(ok, 3000));
  }
  note.textContent = "The playable copy is taking longer than expected. Download the original instead.";
}

async function loadAccessReport(event) {
  event?.preventDefault();
  const box = document.getElementById("access-report");
  const reason = document.getElementById("access-reason").value.trim();
  if (!reason) return;
  box.replaceChildren(el("p", { class: "sr-muted", text: "Loading…" }));
  try {
    // Reading the trail is recorded with its reason, percent-encoded (headers are Latin-1).
    const data = await api("GET", box.dataset.url, undefined, { "X-Strongroom-Reason": encodeURIComponent(reason) });
    const entries = Array.isArray(data) ? data : data.events || [];
    if (!entries.length) {
      box.replaceChildren(el("p", { class: "sr-muted", text: "Nobody has opened this file yet." }));
      return;
    }
    const body = el("tbody");
    for (const e of foldForPeople(entries).slice(-200).reverse()) {
      body.append(el("tr", {},
        el("td", { class: "sr-col-date", text: ukTime(new Date(e.at || e.occurred_at)) }),
        el("td", { text: e.actor_kind === "system" ? "Strongroom (automatic)" : e.who || e.actor_label || "" }),
        el("td", { text: describe(e.action) + (e.played ? ` (${e.played})` : "") }),
        el("td", { text: e.ip || "" })));
    }
    const head = el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: "When" }), el("th", { scope: "col", text: "Who" }),
      el("th", { scope: "col", text: "What" }), el("th", { scope: "col", text: "From" })));
    box.replaceChildren(el("div", { class: "sr-table-wrap sr-table-wrap--alone", tabindex: "0", role: "region", "aria-label": "Access report table" }, el("table", { class: "sr-table", id: "access-table" }, head, body)));
  } catch (error) {
    box.replaceChildren(el("p", { class: "sr-muted", text: `The access report is not available: ${error.message}` }));
  }
}

// The same format as the server's pages (web/templating.py uk_time): "1 Dec 2026, 23:05 GMT".
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function ukTime(at) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London", day: "numeric", month: "numeric", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
  }).formatToParts(at).map((p) => [p.type, p.value]));
  // Month names from this list, not Intl's ("Sept" in some versions), to match the server's "%b".
  return `${parts.day} ${MONTHS[Number(parts.month) - 1]} ${parts.year}, ${parts.hour}:${parts.minute} ${parts.timeZoneName}`;
}

// What people read: one line per playback (its events carry one playback id; content.playbacks), and
// one line per upload (a new file's first version is the upload itself, already said by "Uploaded").
function foldForPeople(entries) {
  const shown = [];
  const playbacks = new Map();
  for (const e of entries) {
    const details = typeof e.details === "string" ? JSON.parse(e.details || "{}") : e.details || {};
    if (e.action === "content.version.created" && details.number === 1) continue;
    if (e.action !== "content.version.played") { shown.push(e); continue; }
    const key = `${e.actor_kind}/${e.actor_id}/${details.playback}`;
    let play = playbacks.get(key);
    if (!play) { play = { ...e, ranges: [], size: details.size }; playbacks.set(key, play); shown.push(play); }
    if (Array.isArray(details.range)) play.ranges.push(details.range);
    play.played = `up to ${coveredPercent(play.ranges, play.size)}% of the recording`;
  }
  return shown;
}

function coveredPercent(ranges, size) {
  let covered = 0;
  let upTo = -1;
  for (const [start, end] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (end > upTo) { covered += end - Math.max(start, upTo + 1) + 1; upTo = end; }
  }
  return size ? Math.min(100, Math.round((100 * covered) / size)) : 100;
}

// The labels come from the server (strongroom/web/audit_labels.py, the one mapping), as JSON in data-labels.
const ACTIONS = JSON.parse(document.getElementById("access-report")?.dataset.labels || "{}");
const describe = (action) => ACTIONS[action] || action;

for (const button of document.querySelectorAll("[data-restore-version]")) {
  button.addEventListener("click", async () => {
    await api("POST", `/api/v1/files/${actions.dataset.id}/versions/${button.dataset.restoreVersion}/restore`);
    window.location.reload();
  });
}
actions.querySelector('[data-action="share"]')?.addEventListener("click", () => {
  openShare({ id: actions.dataset.id, name: actions.dataset.name, type: "file" });
});

wireDialogs();
wireShareDialogs();
const kind = preview ? preview.dataset.kind : "held";
const shown = kind === "text" ? showText()
  : kind === "pdf" && preview.dataset.source === "rendition" ? waitForDocument()
  : kind === "pdf" ? showPdf(preview, preview.dataset.contentUrl)
  : (kind === "video" || kind === "audio") && preview.dataset.source === "rendition" ? watchRendition() : Promise.resolve();
shown.catch((error) => preview.replaceChildren(el("p", { text: `The preview could not be shown: ${error.message}` })));
document.getElementById("access-report-form").addEventListener("submit", loadAccessReport);
