// The document viewer: pdf.js draws each page into a canvas, with paging, zoom and find. Shared by the
// staff item page (js/item.js) and the pages a shared link's recipient sees (external/document.js,
// served from /s-assets/), so both see the same viewer. Self-contained: it imports nothing, because
// the external pages may load nothing from /static/.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const ZOOMS = [0.5, 0.75, 1, 1.25, 1.5, 2, 3];

// `preview` is the box to fill; it names pdf.js and its worker in data-pdf-lib and data-pdf-worker.
export async function showPdf(preview, url) {
  // pdf.js draws into a canvas: the document's own scripts and forms never run (isEvalSupported off,
  // no scripting build). One whole-file request (no range reads), so opening it is one recorded read.
  const pdfjs = await import(preview.dataset.pdfLib);
  pdfjs.GlobalWorkerOptions.workerSrc = preview.dataset.pdfWorker;
  const doc = await pdfjs.getDocument({ url, isEvalSupported: false, withCredentials: true, disableRange: true, disableStream: true }).promise;
  let pageNo = 1;
  let zoom = 2; // index into ZOOMS: 100 % of the fitted width
  const small = "sr-button sr-button--secondary sr-button--small";
  const canvas = el("canvas", { role: "img", "aria-label": "PDF page" });
  const prev = el("button", { type: "button", class: small, text: "Previous page" });
  const next = el("button", { type: "button", class: small, text: "Next page" });
  const pageInput = el("input", { class: "sr-input sr-pdf-page", type: "number", min: "1", max: String(doc.numPages), value: "1", id: "pdf-page", "aria-label": "Page number" });
  const of = el("span", { text: `of ${doc.numPages}` });
  const zoomOut = el("button", { type: "button", class: small, text: "−", "aria-label": "Zoom out" });
  const zoomIn = el("button", { type: "button", class: small, text: "+", "aria-label": "Zoom in" });
  const zoomLabel = el("span", { "aria-live": "polite", class: "sr-pdf-zoom" });
  const query = el("input", { class: "sr-input sr-pdf-search", type: "search", id: "pdf-search", placeholder: "Find in document", "aria-label": "Find in document" });
  const find = el("button", { type: "submit", class: small, text: "Find" });
  const found = el("span", { role: "status", class: "sr-pdf-found" });
  const search = el("form", { class: "sr-pdf-find", role: "search" }, query, find, found);
  const controls = el("div", { class: "sr-pdf-controls" }, prev, pageInput, of, next, zoomOut, zoomLabel, zoomIn, search);
  const frame = el("div", { class: "sr-pdf-frame", tabindex: "0", "aria-label": "Document pages" }, canvas);
  async function render() {
    const page = await doc.getPage(pageNo);
    const fitted = Math.min(preview.clientWidth - 16, 900) / page.getViewport({ scale: 1 }).width;
    const viewport = page.getViewport({ scale: fitted * ZOOMS[zoom] });
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    await page.render({ canvasContext: canvas.getContext("2d"), viewport, transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null }).promise;
    pageInput.value = String(pageNo);
    zoomLabel.textContent = `${Math.round(ZOOMS[zoom] * 100)} %`;
    canvas.setAttribute("aria-label", `PDF page ${pageNo} of ${doc.numPages}`);
    prev.disabled = pageNo <= 1;
    next.disabled = pageNo >= doc.numPages;
    zoomOut.disabled = zoom <= 0;
    zoomIn.disabled = zoom >= ZOOMS.length - 1;
  }
  const go = (n) => { pageNo = Math.min(Math.max(n, 1), doc.numPages); render(); };
  prev.addEventListener("click", () => go(pageNo - 1));
  next.addEventListener("click", () => go(pageNo + 1));
  pageInput.addEventListener("change", () => go(Number.parseInt(pageInput.value, 10) || 1));
  zoomOut.addEventListener("click", () => { zoom = Math.max(zoom - 1, 0); render(); });
  zoomIn.addEventListener("click", () => { zoom = Math.min(zoom + 1, ZOOMS.length - 1); render(); });
  const texts = new Map();
  async function textOf(n) {
    if (!texts.has(n)) {
      const content = await (await doc.getPage(n)).getTextContent();
      texts.set(n, content.items.map((item) => item.str).join(" ").replace(/\s+/g, " ").toLowerCase());
    }
    return texts.get(n);
  }
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    const wanted = query.value.trim().replace(/\s+/g, " ").toLowerCase();
    if (!wanted) return;
    // From the page after this one, round to this one: pressing Find again moves to the next match.
    for (let step = 1; step <= doc.numPages; step += 1) {
      const n = ((pageNo - 1 + step) % doc.numPages) + 1;
      if ((await textOf(n)).includes(wanted)) {
        found.textContent = `Found on page ${n}.`;
        go(n);
        return;
      }
    }
    found.textContent = "Not found in this document.";
  });
  preview.replaceChildren(controls, frame);
  await render();
}
