"""The chain-of-custody report for one item: a PDF for people and, attached to it and downloadable
on its own, a JSON bundle that anyone can re-verify with `strongroom audit verify`
(`custody_verify.py`).

The bundle holds every event about the item up to a signed checkpoint (exactly as hashed), that
checkpoint and, for each event, its RFC 6962 inclusion proof. The door signs a fresh checkpoint first,
so an honest bundle covers every event about the item so far. Versions come from the door as plain
facts (audit sits below content and cannot read its tables).

What a bundle proves, and what it cannot (the same words go into the bundle and the PDF): see PROVES
and DOES_NOT_PROVE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.audit.checkpoints import as_record, inclusion_proof_from, load_tree
from strongroom.audit.export import event_record
from strongroom.audit.models import AuditEvent, Checkpoint

BUNDLE_FORMAT = "strongroom-custody-bundle"
PROVES = (
    "Every event in this bundle is, unchanged, in the audit log named by the checkpoint's origin: its"
    " content hashes to the leaf that its inclusion proof ties to the root signed by the audit key."
)
DOES_NOT_PROVE = (
    "It cannot prove that no event about the item was left out. To check completeness, verify a full"
    " export of the log with the audit public key you hold and compare: strongroom audit verify"
    " custody-<item id>.json --public-key <key> --log <full export .jsonl> reports every event about the"
    " item that the log holds up to the checkpoint but the bundle lacks."
)
RECEIPT_ACTIONS = ("content.file.created", "content.version.created", "content.version.restored")


@dataclass(frozen=True)
class ItemFacts:
    id: str
    name: str | None
    kind: str | None
    classification: str | None
    exists: bool


@dataclass(frozen=True)
class VersionFacts:
    number: int
    id: str
    size: int
    sha256: str
    created_at: datetime
    created_by: str
    content_type: str | None


def newest_event_seq(session: Session, *, item_id: str) -> int:
    """The seq of the newest event about an item (0 when there is none)."""
    newest = session.execute(select(func.max(AuditEvent.seq)).where(AuditEvent.item_id == item_id)).scalar()
    return int(newest or 0)


def build_bundle(
    session: Session, *, item: ItemFacts, checkpoint: Checkpoint | None, public_key: bytes
) -> dict[str, Any]:
    """Every event about the item up to `checkpoint`, each with its inclusion proof into it. Without a
    checkpoint the events carry no proofs, and the bundle will not verify."""
    query = select(AuditEvent).where(AuditEvent.item_id == item.id).order_by(AuditEvent.seq)
    if checkpoint is not None:
        query = query.where(AuditEvent.seq <= checkpoint.tree_size)
    events = list(session.execute(query).scalars())
    records: list[dict[str, Any]] = [event_record(e) for e in events]
    if checkpoint is not None and records:
        log = load_tree(session, checkpoint.tree_size)
        for record in records:
            if record["seq"] <= checkpoint.tree_size:
                record["inclusion_proof"] = inclusion_proof_from(
                    log, seq=record["seq"], tree_size=checkpoint.tree_size
                ).audit_path
    return {
        "$type": "custody_bundle",
        "format": BUNDLE_FORMAT,
        "version": 1,
        "item": {"id": item.id, "name": item.name, "kind": item.kind, "classification": item.classification},
        "origin": checkpoint.origin if checkpoint else None,
        "public_key": public_key.hex(),
        "proves": PROVES,
        "does_not_prove": DOES_NOT_PROVE,
        "checkpoint": as_record(checkpoint) if checkpoint else None,
        "events": records,
    }


def bundle_json(bundle: dict[str, Any]) -> bytes:
    return (json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


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


def _row(pdf: FPDF, text: str) -> None:
    pdf.cell(0, 3.2, _latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


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
