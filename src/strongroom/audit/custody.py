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
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.audit.checkpoints import as_record, load_tree
from strongroom.audit.export import FIELDS, event_record
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
    # The folders it is filed in, top first ("Op KESTREL", "CCTV"); the top folder names the case.
    location: tuple[str, ...] = ()


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
    columns = [
        AuditEvent.seq,
        AuditEvent.prev_hash,
        AuditEvent.hash,
        *(getattr(AuditEvent, f) for f in FIELDS),
    ]
    query = select(*columns).where(AuditEvent.item_id == item.id).order_by(AuditEvent.seq)
    if checkpoint is not None:
        query = query.where(AuditEvent.seq <= checkpoint.tree_size)
    # Rows, not ORM objects: an item may have tens of thousands of events.
    records: list[dict[str, Any]] = [event_record(row) for row in session.execute(query)]
    if checkpoint is not None and records:
        # Proofs from the stored tiles: O(log n) rows each, read in a few queries for all of them.
        tree = load_tree(session, checkpoint.tree_size)
        tree.prefetch(record["seq"] - 1 for record in records)
        proofs = tree.inclusion_paths_hex((record["seq"] - 1 for record in records), checkpoint.tree_size)
        for record, proof in zip(records, proofs, strict=True):
            record["inclusion_proof"] = proof
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
    # orjson writes the same bytes as json.dumps(ensure_ascii=False, compact) a few times faster
    # (18 MB for 10,000 events); what it refuses (an integer past 64 bits) goes the standard way.
    try:
        return orjson.dumps(bundle) + b"\n"
    except TypeError:
        return (json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def render_pdf(
    *,
    item: ItemFacts,
    versions: list[VersionFacts],
    bundle: dict[str, Any],
    generated_at: datetime,
    generated_by: str,
) -> bytes:
    """The report for people (custody_pdf.py). fpdf and its font tools are imported only when a
    report is made: at import they cost the server about a second of start-up and its idle memory."""
    from strongroom.audit import custody_pdf

    return custody_pdf.render_pdf(
        item=item, versions=versions, bundle=bundle, generated_at=generated_at, generated_by=generated_by
    )
