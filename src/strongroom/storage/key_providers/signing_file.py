"""The audit signing key in its own local file (mode 0600), apart from the data keys.

File format (1)::

    {"format": 1, "generation": <n>,
     "keys": [{"key_id": "<16 hex>", "public_key": "<hex>", "created_at": "<ISO 8601 UTC>",
               "retired_at": "<ISO 8601 UTC>"            (earlier keys: public half only)
               "private_key": "<base64 raw Ed25519>"}]}  (the last entry: the current key)

Written like the KEK file (`key_files`): whole generations, under the writer lock, reloaded by
every process when the file's stamp changes.
"""

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom.audit.checkpoints import key_id
from strongroom.storage.key_providers import key_files
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyUnavailable
from strongroom.storage.signing_keys import SigningKeyInfo

FILE_FORMAT: Final = 1


def public_bytes(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _info(public_key: bytes, *, retired_at: str | None = None) -> SigningKeyInfo:
    now = datetime.now(UTC)
    return SigningKeyInfo(
        key_id(public_key), public_key, now, datetime.fromisoformat(retired_at) if retired_at else None
    )


@dataclass(frozen=True)
class _State:
    generation: int
    history: tuple[SigningKeyInfo, ...]  # oldest first; the last is current
    private: Ed25519PrivateKey


class FileAuditSigningKey:
    """AuditSigningKey over a local file. Thread-safe: changes hold the writer lock."""

    def __init__(self, file: key_files.KeyFile[_State]) -> None:
        self._file = file

    @classmethod
    def open(cls, path: Path, *, seed: bytes | None = None, create: bool = True) -> Self:
        """Load the signing key file; if it is missing and `create`, make one from `seed` (a raw
        Ed25519 private key carried over from an older layout) or a fresh key.

        Raises KeyUnavailable if the file is missing (and not `create`), unreadable or malformed.
        """

        def first() -> _State:
            private = Ed25519PrivateKey.from_private_bytes(seed) if seed else Ed25519PrivateKey.generate()
            return _State(1, (_info(public_bytes(private)),), private)

        file = key_files.KeyFile(path, parse=_parse, serialise=_serialise, what="audit signing key file")
        file.open(create=first if create else None)
        return cls(file)

    def _fresh(self) -> _State:
        return self._file.fresh()

    def sign(self, message: bytes) -> bytes:
        return self._fresh().private.sign(message)

    def public_key(self) -> bytes:
        return self._fresh().history[-1].public_key

    def history(self) -> list[SigningKeyInfo]:
        return list(self._fresh().history)

    def knows(self, public_key: bytes) -> bool:
        return any(info.public_key == public_key for info in self._fresh().history)

    def rotate(self, new_private_key: bytes) -> SigningKeyInfo:
        private = Ed25519PrivateKey.from_private_bytes(new_private_key)
        return self._change(private, retire_current=True)

    def adopt_earlier(self, private_key: bytes) -> None:
        """Remember an older key's public half (its private half is dropped), so that checkpoints it
        signed stay trusted; used when an older layout held a key this file does not know."""
        public = public_bytes(Ed25519PrivateKey.from_private_bytes(private_key))
        if not self.knows(public):
            self._change(None, earlier=public)

    def _change(
        self, private: Ed25519PrivateKey | None, *, retire_current: bool = False, earlier: bytes | None = None
    ) -> SigningKeyInfo:
        def next_generation(old: _State) -> _State:
            now = datetime.now(UTC)
            history = list(old.history)
            if earlier is not None:
                history.insert(len(history) - 1, replace(_info(earlier), retired_at=now))
            if retire_current and private is not None:
                history[-1] = replace(history[-1], retired_at=now)
                history.append(_info(public_bytes(private)))
            return _State(old.generation + 1, tuple(history), private or old.private)

        return self._file.change(next_generation).history[-1]


def open_beside(keys: FileKeyProvider, path: Path) -> FileAuditSigningKey:
    """The signing key file at `path`, moving a signing key that an older key file still holds.

    Data dirs from before the split kept the audit signing key in the KEK file. On first start it
    moves to its own file (written and synced first), and only then is it dropped from the KEK file,
    so a crash between the two steps loses nothing. Checkpoints it signed keep verifying: its public
    key stays in the signing key's history.
    """
    legacy = keys.legacy_signing_key()
    signing = FileAuditSigningKey.open(path, seed=legacy)
    if legacy is not None:
        signing.adopt_earlier(legacy)  # a no-op when the file was just made from it
        keys.forget_legacy_signing_key()
    return signing


def _parse(raw: bytes, path: Path) -> _State:
    try:
        doc: Any = json.loads(raw)
        if doc["format"] != FILE_FORMAT:
            raise KeyUnavailable(f"The signing key file {path} has format {doc['format']!r}; expected 1.")
        history = tuple(
            SigningKeyInfo(
                key_id=entry["key_id"],
                public_key=bytes.fromhex(entry["public_key"]),
                created_at=datetime.fromisoformat(entry["created_at"]),
                retired_at=datetime.fromisoformat(entry["retired_at"]) if entry.get("retired_at") else None,
            )
            for entry in doc["keys"]
        )
        private = Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(doc["keys"][-1]["private_key"], validate=True)
        )
        generation = int(doc["generation"])
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error) as exc:
        raise KeyUnavailable(
            f"The signing key file {path} is malformed ({type(exc).__name__}: {exc})."
        ) from exc
    if public_bytes(private) != history[-1].public_key:
        raise KeyUnavailable(
            f"The signing key file {path} holds a private key that does not match its public key."
        )
    return _State(generation, history, private)


def _serialise(state: _State) -> bytes:
    entries: list[dict[str, str]] = []
    for info in state.history:
        entry = {
            "key_id": info.key_id,
            "public_key": info.public_key.hex(),
            "created_at": info.created_at.isoformat(),
        }
        if info.retired_at is not None:
            entry["retired_at"] = info.retired_at.isoformat()
        entries.append(entry)
    entries[-1]["private_key"] = base64.b64encode(state.private.private_bytes_raw()).decode("ascii")
    doc = {"format": FILE_FORMAT, "generation": state.generation, "keys": entries}
    return json.dumps(doc, indent=2).encode("utf-8") + b"\n"
