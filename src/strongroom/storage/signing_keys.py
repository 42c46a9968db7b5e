"""The audit signing key: an Ed25519 key that signs checkpoints of the audit trail.

It is kept apart from the key-encryption keys, in its own store with its own rotation, because it
serves another purpose: whoever can read the data keys should not thereby be able to re-sign
history. Every public key it ever had stays known, so checkpoints signed before a rotation keep
verifying.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.checkpoints import key_id
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.db.session import transaction


@dataclass(frozen=True)
class SigningKeyInfo:
    """One signing key as verifiers see it; `retired_at` is when a newer key replaced it."""

    key_id: str
    public_key: bytes
    created_at: datetime
    retired_at: datetime | None


class AuditSigningKey(Protocol):
    """Signs audit checkpoints. Implementations SHALL be safe to call from many threads and SHALL see a
    rotation made by another process before they sign again."""

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of `message` with the current signing key."""
        ...

    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key that verifies sign's signatures now."""
        ...

    def history(self) -> list[SigningKeyInfo]:
        """Every signing key this installation has used, oldest first; the last is current."""
        ...

    def rotate(self, new_private_key: bytes) -> SigningKeyInfo:
        """Make `new_private_key` (raw Ed25519) current and destroy the old private key; the old
        public key stays in history()."""
        ...


def earlier_public_keys(key: AuditSigningKey) -> list[bytes]:
    """Public keys that signed checkpoints before the current one (to trust those checkpoints)."""
    return [info.public_key for info in key.history()[:-1]]


def rotate_signing_key(
    sessions: sessionmaker[Session],
    key: AuditSigningKey,
    *,
    actor: Actor,
    clock: Clock,
    checkpoint: Callable[[], object],
) -> SigningKeyInfo:
    """Replace the audit signing key, handing trust from the old key to the new one.

    An event naming the new public key is recorded, then `checkpoint` signs (with the old key) a
    checkpoint that covers it: whoever holds the old public key can thus check which key came next.
    Only then is the new key made current and the old private key destroyed.
    """
    new = Ed25519PrivateKey.generate()
    new_public = new.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    old_public = key.public_key()
    with transaction(sessions) as session:
        events.record(
            session,
            actor,
            AuditAction.AUDIT_SIGNING_KEY_ROTATED,
            details={
                "old_key_id": key_id(old_public),
                "new_key_id": key_id(new_public),
                "new_public_key": new_public.hex(),
            },
            at=clock.now(),
        )
    checkpoint()
    return key.rotate(new.private_bytes_raw())
