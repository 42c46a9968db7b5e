"""Key providers: they hold key-encryption keys (KEKs) and the audit signing key.

A blob's data key (DEK) is stored only wrapped by a KEK. Rotation adds a KEK, re-wraps DEKs
and then retires the old KEK; it never re-encrypts blobs.
"""

import secrets
from dataclasses import dataclass
from typing import Final, Protocol

from strongroom.errors import Unavailable

DATA_KEY_SIZE: Final = 32


class KeyUnavailable(Unavailable):
    """A wrapped key cannot be unwrapped: its KEK is unknown or retired, or the wrapping was changed."""

    code = "key_unavailable"


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    ciphertext: bytes


class KeyProvider(Protocol):
    """Holds KEKs and the audit signing key. Implementations SHALL be safe to call from many threads."""

    def current_kek_id(self) -> str:
        """The id of the KEK that wrap_data_key uses now."""
        ...

    def wrap_data_key(self, dek: bytes, *, context: bytes) -> WrappedKey:
        """Wrap `dek` with the current KEK.

        A KeyProvider SHALL authenticate `context` (the caller passes the blob key), so that a
        wrapped key only unwraps for the blob it was made for. Raises Unavailable if the
        provider cannot be reached.
        """
        ...

    def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        """Unwrap with whichever held KEK `wrapped.kek_id` names.

        A KeyProvider SHALL raise KeyUnavailable if that KEK is unknown or retired, or if the
        wrapped key or `context` does not authenticate.
        """
        ...

    def add_kek(self) -> str:
        """Generate a new KEK, make it current and return its id; older KEKs SHALL still unwrap."""
        ...

    def retire_kek(self, kek_id: str) -> None:
        """Forget a KEK for good; what it wrapped becomes unreadable.

        The caller SHALL have re-wrapped every DEK it wrapped first. A KeyProvider SHALL refuse
        (Conflict) to retire the current KEK, and raise NotFound for an unknown id.
        """
        ...

    def kek_ids(self) -> list[str]:
        """The ids of every KEK held, oldest first."""
        ...

    def sign_audit(self, message: bytes) -> bytes:
        """An Ed25519 signature of `message` with the audit signing key."""
        ...

    def audit_public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key that verifies sign_audit's signatures."""
        ...


def new_data_key() -> bytes:
    """A fresh random 256-bit data key; one per blob, never reused."""
    return secrets.token_bytes(DATA_KEY_SIZE)
