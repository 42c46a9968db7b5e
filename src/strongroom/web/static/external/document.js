// A shared Word, Excel, PowerPoint, OpenDocument or PDF file on a link's page: the PDF copy made for
// the browser, in the same pdf.js viewer staff use (pdf-viewer.js). While the copy is still being
// made the page says so and asks the link, every few seconds, only whether it is ready: the copy
// itself is fetched once, to be shown, and that one fetch is what the access report records.
const preview = document.getElementById("preview");

function say(text, reason) {
  const note = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = text;
  note.append(strong);
  if (reason) note.append(` ${reason}`);
  preview.classList.add("sr-preview--light");
  preview.replaceChildren(note);
}

async function stateOf() {
  try {
    const response = await fetch(preview.dataset.stateUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

async function show() {
  if (preview.dataset.ready !== "yes") {
    let state = null;
    // Up to about ten minutes: LibreOffice may be busy with other documents.
    for (let i = 0; i < 300 && !(state && ["ready", "unsupported"].includes(state.state)); i += 1) {
      await new Promise((ok) => setTimeout(ok, 2000));
      state = await stateOf();
    }
    if (!state || state.state !== "ready") {
      const reason = state && state.state === "unsupported" ? state.reason : "Preparing it is taking longer than expected. Try reloading the page later.";
      say("No preview.", reason);
      return;
    }
  }
  const { showPdf } = await import(preview.dataset.viewer);
  preview.classList.remove("sr-preview--light");
  await showPdf(preview, preview.dataset.url);
}

if (preview && preview.dataset.kind === "document") {
  show().catch((error) => say("The preview could not be shown.", error.message));
}
