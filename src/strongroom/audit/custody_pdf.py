"""The chain-of-custody report as a PDF a court clerk can read (custody.py builds what it shows and
the bundle it attaches).

Page 1 is a summary in plain English: the exhibit, where it is filed, its SHA-256, who uploaded it
when, who accessed it how often, whether the audit trail verified when the report was made, and how
to re-check it. Then every version and every event in plain words, with UK times, and a technical
appendix (the signed checkpoint). Portrait A4, every line wrapped to the page.

The file is PDF/A-3b: fonts embedded (DejaVu, with a CJK fallback where one is installed, so names in
any script print), an sRGB output intent and XMP metadata (fpdf2 adds both), an Info dictionary that
agrees with the XMP, and the verifiable JSON bundle attached as an associated file, which PDF/A-3
allows. tests/audit/test_custody_pdfa.py checks these rules on a produced report.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import fpdf
from fpdf.enums import XPos, YPos
from fpdf.output import OutputProducer
from fpdf.syntax import Name

from strongroom import __version__
from strongroom.audit.custody import (
    DOES_NOT_PROVE,
    PROVES,
    RECEIPT_ACTIONS,
    ItemFacts,
    VersionFacts,
    bundle_json,
)
from strongroom.audit.custody_verify import verify_bundle
from strongroom.audit.labels import action_label, actor_words, uk_time
from strongroom.audit.pdf_text import PlainTextPDF
from strongroom.audit.reports import is_access
from strongroom.audit.trust import Outcome, Trust
from strongroom.errors import Unavailable

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
SANS, MONO = "body", "mono"
LINE = 4.6  # mm per line of 9.5 pt text
_DETAIL_NAMES = {"sha256": "SHA-256", "via": "By way of", "ip": "IP address"}
NO_ACCESS = "Nobody has opened, previewed, played or downloaded it."


def _font_dir() -> Path:
    for folder in FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file():
            return folder
    msg = "The custody report needs the DejaVu fonts: install the Debian package fonts-dejavu-core."
    raise Unavailable(msg)


class _Report(PlainTextPDF):
    exhibit = ""
    footers_now = False

    def footer(self) -> None:
        """ "page n of N" at the foot of a page. fpdf2 calls this as each page ends, when N is not
        known yet: it would write an alias through its text fragments and replace it in every page
        at output, a tenth of a second for a report of 900 pages. So footers are drawn at the end
        instead (`add_footers`), when N is known, and most are plain text written in one step."""
        if not self.footers_now:
            return
        self.set_y(-11)
        self.set_font(SANS, size=7.5)
        self.set_text_color(90, 90, 90)
        footer = f"Chain of custody report: {self.exhibit} - page {self.page_no()} of {self.pages_count}"
        if not self.draw_plain_centred(SANS, 7.5, 3.5, footer):
            footer = self.prepare_for(footer)
            if self.plain_width(footer) <= self.epw - 2 * self.c_margin:
                self.cell(0, 3.5, footer, align="C")  # one line: no line breaking, 100 times cheaper
            else:
                self.multi_cell(0, 3.5, footer, align="C")
        self.set_text_color(0, 0, 0)

    def add_footers(self) -> None:
        """Draw every page's footer, now that the number of pages is known; output() adds none."""
        last = self.page
        self.footers_now = True
        for number in range(1, self.pages_count + 1):
            self.page = number  # fpdf2 writes to whichever page `page` names
            self.current_font_is_set_on_page = False
            self._render_footer()
        self.footers_now = False
        self.page = last
        self.current_font_is_set_on_page = False


class _ReportOutput(OutputProducer):
    """fpdf2 writes no Info dictionary into PDF/A files (the XMP alone satisfies PDF/A-2 and -3), but
    poppler's pdfinfo and many viewers' "Document properties" read only Info, so a clerk would see no
    title. This writes Info too, from the same fields as the XMP (PDF/A-3 6.6.2.3.1: they must agree).
    fpdf2 (pinned in constraints.txt) decides on Info between building the XMP and the encryption
    dictionary: compliance is set aside for exactly that step."""

    def _add_xmp_metadata(self) -> Any:
        xmp = super()._add_xmp_metadata()
        # fpdf2 has no public switch for this; the custody tests fail if its order ever changes.
        self._compliance, self.fpdf._compliance = self.fpdf._compliance, None  # noqa: SLF001
        return xmp

    def _add_encryption(self) -> Any:
        self.fpdf._compliance = self._compliance  # noqa: SLF001
        return super()._add_encryption()


def _new_pdf(item: ItemFacts, generated_at: datetime, generated_by: str) -> _Report:
    fonts = _font_dir()
    pdf = _Report(orientation="P", format="A4", enforce_compliance="PDFA_3B")
    pdf.exhibit = item.name or item.id
    # Footers know the page count when they are drawn (add_footers); with fpdf2's "{nb}" alias on, a
    # name or reason holding "{nb}" and drawn by fpdf2 would print as the number of pages.
    pdf.alias_nb_pages("")  # fpdf2 documents None; its type hints take a str, and "" is off too
    pdf.add_font(SANS, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(SANS, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font(MONO, "", str(fonts / "DejaVuSansMono.ttf"))
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_title(f"Chain of custody report: {pdf.exhibit}")
    pdf.set_subject("Chain of custody of a digital exhibit")
    pdf.set_creator("Strongroom")
    pdf.set_author(generated_by)
    pdf.set_producer(f"Strongroom {__version__} (fpdf2 {fpdf.__version__})")
    pdf.set_lang("en-GB")
    pdf.set_creation_date(generated_at)
    return pdf


def _heading(pdf: _Report, text: str, *, size: float = 12.5) -> None:
    pdf.ln(2.5)
    pdf.set_font(SANS, "B", size)
    text = pdf.prepare_for(text)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(SANS, size=9.5)


def _para(pdf: _Report, text: str, *, mono: bool = False, indent: float = 0) -> None:
    pdf.set_font(MONO if mono else SANS, size=8.5 if mono else 9.5)
    pdf.set_x(pdf.l_margin + indent)
    text = pdf.prepare_for(text)
    pdf.multi_cell(pdf.epw - indent, LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(SANS, size=9.5)


def _fact(pdf: _Report, label: str, value: str, *, mono: bool = False) -> None:
    """A label in the left column and its value, wrapped, beside it."""
    label_width = 42
    top = pdf.get_y()
    if top + LINE > pdf.page_break_trigger:
        pdf.add_page()
        top = pdf.get_y()
    pdf.set_font(SANS, "B", 9.5)
    label = pdf.prepare_for(label)
    pdf.multi_cell(label_width - 2, LINE, label, align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
    label_bottom = max(top, pdf.get_y())
    pdf.set_xy(pdf.l_margin + label_width, top)
    pdf.set_font(MONO if mono else SANS, size=9 if mono else 9.5)
    value = pdf.prepare_for(value)
    pdf.multi_cell(pdf.epw - label_width, LINE, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), label_bottom) + 0.8)
    pdf.set_font(SANS, size=9.5)


def render_pdf(
    *,
    item: ItemFacts,
    versions: list[VersionFacts],
    bundle: dict[str, Any],
    generated_at: datetime,
    generated_by: str,
) -> bytes:
    attached = bundle_json(bundle)
    # Deflated at level 1, not fpdf2's 6: the bundle is most of the file (18 MB of JSON for 10,000
    # events), 0.6 s of CPU at 6 against 0.2 s at 1, for a file about a tenth larger. zlib lets go
    # of the GIL, so it runs on another core while the pages are drawn.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="custody-deflate") as deflater:
        deflated = deflater.submit(zlib.compress, attached, 1)
        pdf = _new_pdf(item, generated_at, generated_by)
        pdf.add_page()
        _summary(pdf, item=item, versions=versions, bundle=bundle, generated_at=generated_at, by=generated_by)
        pdf.add_page()
        _versions(pdf, versions)
        _events(pdf, bundle)
        _appendix(pdf, bundle)
        pdf.add_footers()
        contents = deflated.result()
    embedded = pdf.embed_file(
        bytes=attached,
        basename=f"custody-{item.id}.json",
        modification_date=generated_at,  # PDF/A-3 asks for the attachment's date in its /Params
        mime_type="application/json",
        desc="The verifiable custody bundle: check it with `strongroom audit verify`.",
        associated_file_relationship="Data",
        compress=False,
    )
    embedded._contents = contents  # noqa: SLF001 - fpdf2 has no level per stream
    embedded.filter = Name("FlateDecode")
    embedded.length = len(embedded._contents)  # noqa: SLF001
    return bytes(pdf.output(output_producer_class=_ReportOutput))


def _summary(
    pdf: _Report,
    *,
    item: ItemFacts,
    versions: list[VersionFacts],
    bundle: dict[str, Any],
    generated_at: datetime,
    by: str,
) -> None:
    pdf.set_font(SANS, "B", 17)
    pdf.prepare_for("")
    pdf.multi_cell(0, 8, "Chain of custody report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _para(pdf, f"Made on {uk_time(generated_at)} by {by}. All times are UK times (GMT or BST).")
    pdf.ln(2)
    events: list[dict[str, Any]] = bundle["events"]
    newest = versions[-1] if versions else None
    _fact(pdf, "Exhibit", item.name or f"(name not recorded; item {item.id})")
    if item.location:
        _fact(pdf, "Case reference", item.location[0])
        _fact(pdf, "Filed in", " / ".join(item.location))
    _fact(pdf, "Strongroom id", item.id, mono=True)
    if item.classification:
        _fact(pdf, "Classification", item.classification)
    if not item.exists:
        _fact(pdf, "Still stored", "No: it was deleted. Its audit trail remains and is reported here.")
    if newest is not None:
        _fact(pdf, "SHA-256", newest.sha256, mono=True)
        _fact(
            pdf,
            "Size",
            f"{newest.size:,} bytes" + (f" ({newest.content_type})" if newest.content_type else ""),
        )
        earlier = f"; {len(versions) - 1} earlier version(s) listed on page 2" if len(versions) > 1 else ""
        _fact(pdf, "Version", f"{newest.number}{earlier}")
    _fact(pdf, "Uploaded", _uploaded(events, versions))
    _fact(pdf, "Accessed", _accessed(events))
    _fact(pdf, "Integrity", _verdict(bundle))
    _fact(pdf, "Events recorded", f"{len(events)}, every one listed from page 2 in plain words.")
    _heading(pdf, "How to re-check this report")
    _para(
        pdf,
        f"This PDF carries an attachment, custody-{item.id}.json (open the attachments panel of a PDF "
        "reader to save it). It holds every event listed here exactly as it was recorded, and a "
        "checkpoint of the audit log signed by the force's audit key. Anyone can re-check it, without "
        "access to Strongroom, with the command:",
    )
    key = bundle.get("public_key") or "<audit public key>"
    _para(pdf, f"strongroom audit verify custody-{item.id}.json --public-key {key}", mono=True, indent=4)
    _para(
        pdf,
        "Take the public key from the force (strongroom audit public-key, or a witness copy), not only "
        "from this report. The command exits with status 0 when every event is proven, 1 when any was "
        "changed or invented, and 3 when the key is not one you trust. To check the exhibit itself, "
        "compare its SHA-256 above with that of the file disclosed (sha256sum on Linux, "
        "Get-FileHash in Windows PowerShell).",
    )
    _heading(pdf, "What this report proves, and what it cannot", size=11)
    _para(pdf, "It proves: " + PROVES)
    _para(pdf, "It cannot prove: " + DOES_NOT_PROVE)


def _uploaded(events: list[dict[str, Any]], versions: list[VersionFacts]) -> str:
    receipts = [e for e in events if e["action"] in RECEIPT_ACTIONS]
    if receipts:
        first = receipts[0]
        return (
            f"By {actor_words(first['actor_kind'], first['actor_label'])} on {uk_time(first['occurred_at'])}."
        )
    if versions:
        return f"By {versions[0].created_by} on {uk_time(versions[0].created_at)}."
    return "No upload is recorded."


def _accessed(events: list[dict[str, Any]]) -> str:
    accesses = [e for e in events if is_access(e["action"])]
    if not accesses:
        return NO_ACCESS
    people: dict[str, Counter[str]] = {}
    last: dict[str, str] = {}
    for e in accesses:
        who = actor_words(e["actor_kind"], e["actor_label"])
        people.setdefault(who, Counter())[action_label(e["action"]).lower()] += 1
        last[who] = e["occurred_at"]
    lines = [f"{len(accesses)} time(s) by {len(people)} person(s) or link(s):"]
    for who, kinds in people.items():
        what = ", ".join(f"{label} {_times(n)}" for label, n in kinds.items())
        lines.append(f"- {who}: {what}; last on {uk_time(last[who])}")
    return "\n".join(lines)


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n} times"  # English counts


def _verdict(bundle: dict[str, Any]) -> str:
    """What `strongroom audit verify` says about the bundle now, with the server's own key."""
    key = bundle.get("public_key")
    trust = Trust.of([bytes.fromhex(key)]) if isinstance(key, str) else Trust()
    verdict = verify_bundle(bundle, trust=trust)
    checkpoint = bundle.get("checkpoint") or {}
    if verdict.outcome is Outcome.VERIFIED:
        return (
            f"Verified when this report was made: each of the {len(bundle['events'])} events is unchanged "
            f"in the audit log, proven against a checkpoint of its first {checkpoint.get('tree_size')} "
            f"events signed on {uk_time(checkpoint['created_at'])}."
        )
    found = "; ".join(verdict.problems or verdict.unverified)
    return f"NOT verified when this report was made: {found}"


def _versions(pdf: _Report, versions: list[VersionFacts]) -> None:
    _heading(pdf, "Versions")
    if not versions:
        _para(pdf, "No version is stored.")
    for v in versions:
        kind = f", {v.content_type}" if v.content_type else ""
        _para(
            pdf,
            f"Version {v.number}: stored on {uk_time(v.created_at)} by {v.created_by},"
            f" {v.size:,} bytes{kind}.",
        )
        _para(pdf, f"SHA-256 {v.sha256}", mono=True, indent=6)


def _events(pdf: _Report, bundle: dict[str, Any]) -> None:
    events: list[dict[str, Any]] = bundle["events"]
    _heading(pdf, f"Every event about this exhibit ({len(events)})")
    for number, e in enumerate(events, start=1):
        who = actor_words(e["actor_kind"], e["actor_label"])
        head = f"{number}. {uk_time(e['occurred_at'])}: {action_label(e['action'])}"
        lines = [f"By {who}" + (f", from {e['ip']}" if e.get("ip") else "") + "."]
        if e.get("reason"):
            lines.append(f"Reason given: {e['reason']}")
        lines.extend(_details(e.get("details")))
        lines.append(f"Audit log entry {e['seq']}.")
        rows = [("B", 0.0, head)] + [("", 6.0, line) for line in lines]
        if not pdf.draw_plain(SANS, 9.5, LINE, rows):
            pdf.set_font(SANS, "B", 9.5)
            head = pdf.prepare_for(head)
            pdf.multi_cell(0, LINE, head, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            _para(pdf, "\n".join(lines), indent=6)  # wrapped, shaped or in another script
        pdf.ln(1)


def _details(raw: object) -> list[str]:
    """The event's details as "name: value" lines, not raw JSON."""
    try:
        details = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return [f"Details: {raw}"]
    if not isinstance(details, dict) or not details:
        return []
    return [
        f"{_DETAIL_NAMES.get(str(k), str(k).replace('_', ' ').capitalize())}: {_value(v)}"
        for k, v in details.items()
    ]


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, dict)):
        return _JSON(value)
    return str(value)


# json.dumps(value, ensure_ascii=False) builds a new encoder on every call; a report makes one per event.
_JSON = json.JSONEncoder(ensure_ascii=False).encode


def _appendix(pdf: _Report, bundle: dict[str, Any]) -> None:
    checkpoint = bundle["checkpoint"]
    _heading(pdf, "Technical appendix: the signed checkpoint")
    if checkpoint is None:
        _para(
            pdf, "No signed checkpoint: nothing vouches for these events, and the attachment will not verify."
        )
        return
    _para(
        pdf,
        "The checkpoint below is a signed summary (a Merkle tree root, RFC 6962) of the whole audit log "
        "up to one event. The attachment holds, for each event above, the proof that ties it to this "
        "root; `strongroom audit verify` checks those proofs and the signature.",
    )
    for key in ("origin", "tree_size", "root_hash", "created_at", "key_id", "public_key", "signature"):
        value = uk_time(checkpoint[key]) if key == "created_at" else str(checkpoint[key])
        _fact(pdf, key.replace("_", " ").capitalize(), value, mono=key != "created_at")
