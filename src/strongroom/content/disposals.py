"""Disposal you can prove: purging a version destroys its data key and yields a signed certificate.

A version's bytes are sealed under their own data key, stored only wrapped, in the version's row.
Purging deletes that row (and the blob after commit), so nothing that could decrypt the bytes is
left in the live system: crypto-shredding. What the version was stays: its SHA-256 and size, in a
disposal record and in the purge's audit event.

The certificate is issued after the purge commits, once its audit event has a place in the log
(sequence number and hash): it names the item, the version, the SHA-256, who, when and why, and that
event, and is signed with the audit signing key so that `strongroom audit verify CERT --public-key K`
checks it offline, and with `--log EXPORT` checks the event in the log too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit.checkpoints import key_id
from strongroom.audit.disposal_verify import PURGE_ACTION, signed_bytes
from strongroom.audit.models import AuditEvent
from strongroom.content.models import Disposal, FileVersion, Item
from strongroom.db.base import new_id

CERTIFICATE_FORMAT: Final = 1


def record_disposals(
    session: Session,
    actor: Actor,
    *,
    root: Item,
    item_ids: list[str],
    still_used: Callable[[str], bool],
    reason: str,
    at: datetime,
) -> str:
    """Record every version under `item_ids` as disposed of; returns the purge's batch id, which the
    caller puts in the purge's audit event. `still_used(blob_key)` says if another version keeps the
    blob (then its data key survives, and the certificate says so)."""
    batch = new_id("dsb")
    names = {
        row.id: row.name for row in session.execute(select(Item.id, Item.name).where(Item.id.in_(item_ids)))
    }
    for version in session.scalars(select(FileVersion).where(FileVersion.file_id.in_(item_ids))):
        session.add(
            Disposal(
                id=new_id("dsp"),
                batch=batch,
                purged_root_id=root.id,
                item_id=version.file_id,
                item_name=names.get(version.file_id, ""),
                version_id=version.id,
                version_number=version.number,
                sha256=version.sha256,
                size=version.size,
                disposed_at=at,
                disposed_by_id=actor.id,
                disposed_by_label=actor.label,
                reason=reason,
                key_destroyed=not still_used(version.blob_key),
            )
        )
    return batch


@dataclass(frozen=True)
class Signer:
    sign: Callable[[bytes], bytes]
    public_key: bytes
    origin: str


def issue_certificates(session: Session, signer: Signer) -> int:
    """Sign a certificate for every disposal whose purge event is in the log; returns how many."""
    issued = 0
    waiting = session.scalars(
        select(Disposal).where(Disposal.certificate.is_(None)).order_by(Disposal.disposed_at)
    )
    events: dict[str, AuditEvent | None] = {}
    for disposal in list(waiting):
        if disposal.batch not in events:
            events[disposal.batch] = _purge_event(session, disposal)
        event = events[disposal.batch]
        if event is None:
            continue  # not in the log yet: the next pass issues it
        body = certificate_body(disposal, event, origin=signer.origin)
        body["key_id"] = key_id(signer.public_key)
        body["public_key"] = signer.public_key.hex()
        body["signature"] = signer.sign(signed_bytes(body)).hex()
        disposal.audit_seq = event.seq
        disposal.certificate = json.dumps(body, indent=2, ensure_ascii=False)
        issued += 1
    return issued


def _purge_event(session: Session, disposal: Disposal) -> AuditEvent | None:
    candidates = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == PURGE_ACTION, AuditEvent.item_id == disposal.purged_root_id)
        .order_by(AuditEvent.seq.desc())
    )
    for event in candidates:
        if json.loads(event.details).get("disposal") == disposal.batch:
            return event
    return None


def certificate_body(disposal: Disposal, event: AuditEvent, *, origin: str) -> dict[str, Any]:
    return {
        "disposal_certificate": CERTIFICATE_FORMAT,
        "id": disposal.id,
        "origin": origin,
        "item": {"id": disposal.item_id, "name": disposal.item_name},
        "version": {
            "id": disposal.version_id,
            "number": disposal.version_number,
            "sha256": disposal.sha256,
            "size": disposal.size,
        },
        "disposed_at": disposal.disposed_at.isoformat(),
        "disposed_by": disposal.disposed_by_label,
        "reason": disposal.reason,
        "data_key": "destroyed"
        if disposal.key_destroyed
        else "kept: another version (a copy or a restore) still holds the same bytes",
        "blob": "removed" if disposal.key_destroyed else "kept for the other version",
        "audit_event": {
            "seq": event.seq,
            "hash": event.hash,
            "action": event.action,
            "purged_item_id": disposal.purged_root_id,
            "batch": disposal.batch,
        },
    }


def certificates(session: Session, *, item_id: str | None = None) -> list[Disposal]:
    query = select(Disposal).where(Disposal.certificate.is_not(None)).order_by(Disposal.disposed_at)
    if item_id is not None:
        query = query.where(Disposal.item_id == item_id)
    return list(session.scalars(query))
