"""The chain-of-custody report for one item: a PDF for people and, attached to it and downloadable
on its own, a JSON bundle that anyone can re-verify with `strongroom audit verify`.

The bundle holds every event about the item (exactly as hashed), the signed checkpoint and, for each
event the checkpoint covers, its RFC 6962 inclusion proof. Versions come from the door as plain
facts (audit sits below content and cannot read its tables).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.audit import chain
from strongroom.audit.checkpoints import as_record, inclusion_proof_from, load_tree
from strongroom.audit.export import event_record
from strongroom.audit.models import AuditEvent, Checkpoint

BUNDLE_FORMAT = "strongroom-custody-bundle"
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


def build_bundle(
    session: Session, *, item: ItemFacts, checkpoint: Checkpoint | None, public_key: bytes
) -> dict[str, Any]:
    """Every event about the item, each with an inclusion proof into `checkpoint` when it covers it."""
    events = list(
        session.execute(
            select(AuditEvent).where(AuditEvent.item_id == item.id).order_by(AuditEvent.seq)
        ).scalars()
    )
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
        "public_key": public_key.hex(),
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

    _heading(pdf, f"Every event about this item ({len(events)})")
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
        _row(pdf, "(no checkpoint yet: only the hash chain protects these events)")
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
    _heading(pdf, "How to re-verify this report")
    _para(
        pdf,
        "This PDF carries an attachment, custody-<item id>.json (also downloadable from "
        "/api/v1/files/<id>/custody-bundle.json). It holds every event above exactly as hashed, the "
        "signed checkpoint and an inclusion proof for each event. Run:  strongroom audit verify "
        "custody-<item id>.json --public-key <key>  with the force's audit public key obtained "
        "independently (strongroom audit public-key on the server, or a witness copy). The command "
        "recomputes each event's SHA-256 chain hash from its content, its RFC 6962 leaf hash sha256(0x00"
        " || hash), follows the inclusion proof to the root, and checks the Ed25519 signature of the "
        "checkpoint over that root. Any edited, removed or invented event fails. Compare the version "
        "SHA-256 values with the files disclosed (sha256sum).",
    )


def verify_bundle(bundle: dict[str, Any], *, public_key: bytes | None = None) -> tuple[list[str], list[str]]:
    """Check a custody bundle offline; returns (problems, warnings)."""
    from strongroom.audit.checkpoints import signature_valid

    problems: list[str] = []
    warnings: list[str] = []
    if public_key is None:
        public_key = bytes.fromhex(bundle["public_key"])
        warnings.append(
            "using the public key written in the bundle itself; pass --public-key to rule out forgery"
        )
    checkpoint = bundle.get("checkpoint")
    if checkpoint is None:
        warnings.append("no checkpoint: events are only checked against their own hashes")
    elif not signature_valid(checkpoint, public_key):
        problems.append(f"checkpoint at tree size {checkpoint.get('tree_size')}: signature does not verify")
        checkpoint = None
    for record in bundle.get("events", []):
        event = dict(record)
        seq, stored, proof = event.get("seq"), event.pop("hash", None), event.pop("inclusion_proof", None)
        recomputed = chain.chain_hash(str(event.get("prev_hash")), chain.event_payload(event))
        if recomputed != stored:
            problems.append(f"seq {seq}: content does not match its hash (the event was edited)")
        if checkpoint is None or not isinstance(seq, int) or seq > checkpoint["tree_size"]:
            if checkpoint is not None:
                warnings.append(f"seq {seq} is newer than the checkpoint")
            continue
        root = bytes.fromhex(checkpoint["root_hash"])
        path = [bytes.fromhex(p) for p in (proof or [])]
        if not chain.verify_inclusion(
            seq - 1, checkpoint["tree_size"], chain.event_leaf(recomputed), path, root
        ):
            problems.append(f"seq {seq}: not included in the signed checkpoint (inclusion proof fails)")
    return problems, warnings
