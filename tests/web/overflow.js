// Whether anything sticks out: of the page, or of the card a table sits in without scrolling inside
// it. Evaluated by tests/web/test_browser_layout.py; answers a list of what sticks out, empty if nothing.
() => {
  const doc = document.scrollingElement;
  const out = [];
  if (doc.scrollWidth > doc.clientWidth) {
    out.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
    // Name the outermost elements that stick out, so the failure says where to look.
    for (const el of document.body.querySelectorAll('*')) {
      const box = el.getBoundingClientRect();
      const parentFits = el.parentElement.getBoundingClientRect().right <= doc.clientWidth + 1;
      const spills = getComputedStyle(el).overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1;
      if (parentFits && (box.right > doc.clientWidth + 1 || (spills && box.left + el.scrollWidth > doc.clientWidth + 1))) {
        out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ends at ${Math.round(box.left + el.scrollWidth)}`);
      }
    }
  }
  for (const table of document.querySelectorAll('table')) {
    if (table.closest('dialog:not([open])') || table.offsetParent === null) continue;
    const wrap = table.closest('.sr-table-wrap');
    if (wrap && getComputedStyle(wrap).overflowX === 'auto') continue;
    const card = table.parentElement.getBoundingClientRect();
    const right = table.getBoundingClientRect().right;
    if (right > card.right + 1) out.push(`table ${table.id || table.className} ends at ${right} > ${card.right}`);
  }
  return out;
}
