"""The chain-of-custody report as a PDF (custody.py builds what it shows and the bundle it attaches)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from strongroom.audit.custody import (
    DOES_NOT_PROVE,
    PROVES,
    RECEIPT_ACTIONS,
    ItemFacts,
    VersionFacts,
    bundle_json,
)


def _latin1(text: object) -> str:
    # The PDF core fonts are Latin-1; the bundle attached to the PDF keeps every character exactly.
    return str(text).encode("latin-1", "replace").decode("latin-1")


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-8)
        self.set_font("Helvetica", size=7)
        self.cell(0, 4, f"Strongroom chain-of-custody report - page {self.page_no()}", align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Courier", size=6.5)


_ROW_HEIGHT = 3.2


def _row(pdf: FPDF, text: str) -> None:
    # One line of monospace text placed directly: `cell` measures and lays out every line, which for
    # an item with ten thousand events cost most of the report's time.
    if pdf.get_y() + _ROW_HEIGHT > pdf.h - pdf.b_margin:
        pdf.add_page()
        pdf.set_font("Courier", size=6.5)
    y = pdf.get_y()
    pdf.text(pdf.l_margin, y + _ROW_HEIGHT * 0.75, _latin1(text))
    pdf.set_xy(pdf.l_margin, y + _ROW_HEIGHT)


def _para(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 4, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Courier", size=6.5)


def render_pdf(
    *,
    item: ItemFacts,
    versions: list[VersionFacts],
    bundle: dict[str, Any],
    generated_at: datetime,
    generated_by: str,
) -> bytes:
    pdf = _Report(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 9, "Chain of custody report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Courier", size=8)
    for label, value in (
        ("Item", f"{item.name} ({item.kind}, id {item.id})"),
        ("Classification", item.classification or "-"),
        ("Still stored", "yes" if item.exists else "no (deleted; its audit events remain)"),
        ("Generated", f"{generated_at.astimezone(UTC).isoformat(timespec='seconds')} by {generated_by}"),
    ):
        pdf.cell(0, 4, _latin1(f"{label:<16}{value}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    _heading(pdf, "Versions")
    _row(pdf, f"{'no':>4}  {'stored at (UTC)':<33} {'size (bytes)':>14}  {'SHA-256':<64}  by")
    for v in versions:
        when = v.created_at.astimezone(UTC).isoformat(timespec="microseconds")
        _row(pdf, f"{v.number:>4}  {when:<33} {v.size:>14}  {v.sha256:<64}  {v.created_by}")
    if not versions:
        _row(pdf, "(no stored versions)")

    events = bundle["events"]
    _heading(pdf, "Upload receipt")
    for e in events:
        if e["action"] in RECEIPT_ACTIONS:
            _row(
                pdf,
                f"seq {e['seq']}  {e['occurred_at']}  {e['action']}  by {e['actor_label']}"
                f" from {e['ip'] or '-'}",
            )
            _row(pdf, f"    details {e['details']}")
            _row(pdf, f"    event hash {e['hash']}")

    checkpoint = bundle["checkpoint"]
    through = f" up to event {checkpoint['tree_size']} of the log" if checkpoint else ""
    _heading(pdf, f"Every event about this item{through} ({len(events)})")
    _row(pdf, f"{'seq':>9} {'time (UTC)':<32} {'actor':<34} {'action':<28} {'reason':<18} details")
    for e in events:
        actor = f"{e['actor_kind']}:{e['actor_label']}"[:34]
        reason = (e.get("reason") or "")[:18]
        _row(
            pdf,
            f"{e['seq']:>9} {e['occurred_at']:<32} {actor:<34} {e['action']:<28} {reason:<18}"
            f" {e['details'][:90]}",
        )

    _checkpoint_section(pdf, bundle)
    pdf.embed_file(
        bytes=bundle_json(bundle),
        basename=f"custody-{item.id}.json",
        mime_type="application/json",
        compress=True,
    )
    return bytes(pdf.output())


def _checkpoint_section(pdf: FPDF, bundle: dict[str, Any]) -> None:
    checkpoint = bundle["checkpoint"]
    _heading(pdf, "Signed checkpoint")
    if checkpoint is None:
        _row(pdf, "(no signed checkpoint: nothing vouches for these events, and the bundle will not verify)")
    else:
        for key in ("origin", "tree_size", "root_hash", "created_at", "key_id", "public_key", "signature"):
            _row(pdf, f"{key:<12}{checkpoint[key]}")
        _heading(pdf, "Inclusion proofs (RFC 6962) of the receipt events")
        root = checkpoint["root_hash"]
        for e in bundle["events"]:
            if e["action"] in RECEIPT_ACTIONS and "inclusion_proof" in e:
                _row(
                    pdf,
                    f"seq {e['seq']}: leaf index {e['seq'] - 1} of {checkpoint['tree_size']}, root {root}",
                )
                for step in e["inclusion_proof"]:
                    _row(pdf, f"    {step}")
    _heading(pdf, "What this report proves, and what it cannot")
    _para(pdf, "Proves: " + PROVES)
    _para(pdf, "Does not prove: " + DOES_NOT_PROVE)
    _heading(pdf, "How to re-verify this report")
    _para(
        pdf,
        "This PDF carries an attachment, custody-<item id>.json (also downloadable from "
        "/api/v1/files/<id>/custody-bundle.json). It holds every event above exactly as hashed, the "
        "signed checkpoint and an inclusion proof for each event. Run:  strongroom audit verify "
        "custody-<item id>.json --public-key <key>  with the force's audit public key obtained "
        "independently (strongroom audit public-key on the server, or a witness copy). The command "
        "recomputes each event's SHA-256 chain hash from its content, its RFC 6962 leaf hash sha256(0x00"
        " || hash), follows the inclusion proof to the root, checks that the checkpoint names this log"
        " (origin) and checks its Ed25519 signature over that root. Any edited or invented event, or one"
        " without a valid inclusion proof, fails (exit status 1); without the key you hold the result is"
        " only 'unverified' (exit status 3). Compare the version SHA-256 values with the files disclosed"
        " (sha256sum).",
    )
