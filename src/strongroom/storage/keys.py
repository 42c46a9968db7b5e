"""Key providers: they hold the key-encryption keys (KEKs) that wrap every blob's data key.

A blob's data key (DEK) is stored only wrapped by a KEK. Rotation adds a KEK (the old one becomes
*superseded*: it still unwraps, it no longer wraps), re-wraps DEKs, and later *retires* the old KEK
(forgets it for good) once nothing is wrapped with it; it never re-encrypts blobs. The audit
signing key is a different key for a different purpose and lives apart (`storage.signing_keys`).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from strongroom.errors import Unavailable

DATA_KEY_SIZE: Final = 32


class KeyUnavailable(Unavailable):
    """A wrapped key cannot be unwrapped: its KEK is unknown or retired, or the wrapping was changed."""

    code = "key_unavailable"


class KeyProviderUnavailable(Unavailable):
    """The key provider cannot be used: the HSM is away or refuses (PIN changed, key disabled by the
    force: the kill switch), or the key file has gone. Every read and upload waits for it; nothing
    falls back to another key and nothing is lost."""

    code = "key_provider_unavailable"


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    ciphertext: bytes


@dataclass(frozen=True)
class KekInfo:
    """One KEK as an operator sees it. `superseded_at` is when a newer KEK replaced it for wrapping."""

    id: str
    created_at: datetime
    superseded_at: datetime | None
    current: bool


class KeyProvider(Protocol):
    """Holds KEKs. Implementations SHALL be safe to call from many threads, and SHALL see a KEK that
    another process (the CLI, a worker, another server) added: at the latest when asked to unwrap with
    an id they do not know, and before wrapping anything new."""

    def current_kek_id(self) -> str:
        """The id of the KEK that wrap_data_key uses now (as the provider's store says now)."""
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
        """Generate a new KEK, make it current and return its id; older KEKs become superseded and
        SHALL still unwrap until retired."""
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

    def keks(self) -> list[KekInfo]:
        """Every KEK held, oldest first."""
        ...


def new_data_key() -> bytes:
    """A fresh random 256-bit data key; one per blob, never reused."""
    return secrets.token_bytes(DATA_KEY_SIZE)


def wrapped_with_current(keys: KeyProvider, wrapped: WrappedKey, *, dek: bytes, context: bytes) -> WrappedKey:
    """`wrapped`, or `dek` wrapped afresh if the current KEK changed since it was wrapped.

    Writers call this when the bytes are durable, just before the database records the key: an
    upload that streamed across a rotation then commits under the new KEK, and the old one can be
    retired after a short grace period instead of after the longest possible upload.
    """
    if wrapped.kek_id == keys.current_kek_id():
        return wrapped
    return keys.wrap_data_key(dek, context=context)
