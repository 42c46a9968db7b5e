// Admin audit search: query /api/v1/audit/events and show the page of results.
import { api, el } from "./api.js";

const form = document.getElementById("audit-search");
const results = document.getElementById("audit-results");
// The labels come from the server (strongroom/web/audit_labels.py, the one mapping), as JSON in data-labels.
const labels = JSON.parse(form.dataset.labels || "{}");

async function search(event) {
  event?.preventDefault();
  const query = new URLSearchParams();
  for (const field of ["item_id", "actor_id", "action"]) {
    const value = form.elements[field].value.trim();
    if (value) query.set(field, value);
  }
  query.set("limit", "200");
  const reason = form.elements.reason.value.trim();
  if (!reason) {
    results.replaceChildren(el("div", { class: "sr-notice sr-notice--error", role: "alert", text: "Give a reason for this search: searches of the audit trail are recorded." }));
    form.elements.reason.focus();
    return;
  }
  try {
    // The reason travels percent-encoded in the header (headers are Latin-1; reasons need not be).
    const data = await api("GET", `${form.dataset.url}?${query}`, undefined, { "X-Strongroom-Reason": encodeURIComponent(reason) });
    const rows = (data.events || []).map((e) => el("tr", {},
      el("td", { class: "sr-col-num", text: String(e.seq) }),
      el("td", { class: "sr-col-date", text: String(e.occurred_at).replace("T", " ").slice(0, 19) }),
      el("td", { text: e.actor_label || "" }),
      el("td", {}, el("span", { text: labels[e.action] || e.action }), el("br"), el("code", { class: "sr-muted", text: e.action })),
      el("td", { text: e.item_name || e.item_id || "" }),
      el("td", { text: e.ip || "" })));
    const head = el("thead", {}, el("tr", {}, ...["#", "When (UTC)", "Who", "Action", "Item", "From"].map((t) => el("th", { scope: "col", text: t }))));
    results.replaceChildren(el("div", { class: "sr-table-wrap sr-table-wrap--alone", tabindex: "0", role: "region", "aria-label": "Audit events" },
      el("table", { class: "sr-table" }, el("caption", { text: `${rows.length} events` }), head, el("tbody", {}, ...rows))));
  } catch (error) {
    results.replaceChildren(el("div", { class: "sr-notice sr-notice--error", role: "alert", text: error.message }));
  }
}
// No search on page load: every search is recorded with its reason, so the user starts it.
form.addEventListener("submit", search);
