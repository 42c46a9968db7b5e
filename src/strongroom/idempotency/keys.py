"""Remembering and replaying answers by `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header).

A key belongs to one caller. Its first use binds it to one request: the method, the path and a
fingerprint of the body that is cheap to take (the JSON body; for uploads the declared length and
digest). A retry of that request gets the remembered answer and changes nothing; the same key on a
different request is refused (409 `idempotency_key_reused`). Keys are forgotten after
`[idempotency] key_lifetime_hours`.

The record is written in the transaction that makes the change (`remember`), never before or after
it: a crash cannot leave a change without its record, or a record without its change. Two racing
requests with one key both may do the work, but only one commits it: the other's insert of the same
(owner, key) fails, its transaction rolls back, and it answers with the winner's record.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.db.base import new_id
from strongroom.errors import IdempotencyKeyReused, InputError
from strongroom.idempotency.models import IdempotencyRecord

MAX_KEY: Final = 255
# Printable ASCII without spaces or quotes: what the draft's sf-string allows, minus what is ambiguous.
_KEY_CHARS: Final = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}


@dataclass(frozen=True)
class IdempotentRequest:
    owner: str
    key: str
    request_hash: str


@dataclass(frozen=True)
class RememberedAnswer:
    status_code: int
    body: str
    headers: dict[str, str]


def parse_key(value: str) -> str:
    """The key from an `Idempotency-Key` field: 1 to 255 printable ASCII characters, optionally in the
    structured-field string quotes. Raises InputError."""
    key = value.strip()
    if len(key) >= 2 and key.startswith('"') and key.endswith('"'):
        key = key[1:-1]
    if not 0 < len(key) <= MAX_KEY or not _KEY_CHARS.issuperset(key):
        raise InputError(
            f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters without spaces.",
            field="Idempotency-Key",
        )
    return key


def identify(actor: Actor, key: str, *, method: str, path: str, fingerprint: str) -> IdempotentRequest:
    """Bind `key` (already parsed) to this caller and this exact request."""
    digest = hashlib.sha256(f"{method.upper()}\n{path}\n{fingerprint}".encode()).hexdigest()
    return IdempotentRequest(owner=f"{actor.kind.value}:{actor.id}", key=key, request_hash=digest)


def find(session: Session, request: IdempotentRequest, *, now: datetime) -> RememberedAnswer | None:
    """The answer remembered for this key, if it is still kept. Raises IdempotencyKeyReused when the
    key was first used for a different request."""
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.owner == request.owner,
            IdempotencyRecord.key == request.key,
            IdempotencyRecord.expires_at > now,
        )
    )
    if record is None:
        return None
    if record.request_hash != request.request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different request; use a new key.",
            field="Idempotency-Key",
        )
    headers = json.loads(record.response_headers)
    assert isinstance(headers, dict)
    return RememberedAnswer(status_code=record.status_code, body=record.response_body, headers=headers)


def remember(
    session: Session,
    request: IdempotentRequest,
    answer: RememberedAnswer,
    *,
    now: datetime,
    lifetime: timedelta,
) -> None:
    """Record the answer in the caller's transaction, the one that made the change. A concurrent
    request that recorded the same key first makes this transaction fail (Conflict) at commit."""
    # An expired record of the same key gives way; a live one was found (and replayed) before this.
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.owner == request.owner,
            IdempotencyRecord.key == request.key,
            IdempotencyRecord.expires_at <= now,
        )
    )
    session.add(
        IdempotencyRecord(
            id=new_id("idk"),
            owner=request.owner,
            key=request.key,
            request_hash=request.request_hash,
            status_code=answer.status_code,
            response_body=answer.body,
            response_headers=json.dumps(answer.headers, sort_keys=True),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()


def purge_expired(session: Session, *, now: datetime) -> int:
    """Forget keys past their lifetime; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
