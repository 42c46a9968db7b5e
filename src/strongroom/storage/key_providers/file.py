"""A key provider backed by one local JSON key file (mode 0600), for single-server installs.

File format::

    {"format": 1, "current": "kek-<12 hex>",
     "keks": [{"id": "kek-<12 hex>", "created_at": "<ISO 8601 UTC>", "key": "<base64, 32 bytes>"}],
     "audit_signing_key": "<base64 of the raw Ed25519 private key>"}

One process owns the file: it is read once by `open` and rewritten atomically on every change.
"""

import base64
import binascii
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom.errors import Conflict, NotFound
from strongroom.storage.keys import DATA_KEY_SIZE, KeyUnavailable, WrappedKey

FILE_FORMAT: Final = 1
WRAP_AAD_PREFIX: Final = b"strongroom-dek-v1|"
_NONCE_SIZE: Final = 12


@dataclass(frozen=True)
class _Kek:
    id: str
    created_at: str
    key: bytes
    aead: AESGCM


@dataclass(frozen=True)
class _State:
    """One consistent view of the key file; replaced whole on change, so readers need no lock."""

    current: str
    keks: dict[str, _Kek]  # insertion order = creation order
    signing_key: Ed25519PrivateKey


def _new_kek() -> _Kek:
    key = AESGCM.generate_key(bit_length=256)
    return _Kek(
        id=f"kek-{secrets.token_hex(6)}",
        created_at=datetime.now(UTC).isoformat(),
        key=key,
        aead=AESGCM(key),
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileKeyProvider:
    """KeyProvider over a local key file. Thread-safe: mutations hold a lock; reads use a snapshot."""

    def __init__(self, path: Path, state: _State) -> None:
        self._path = path
        self._state = state
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Self:
        """Load the key file at `path`; if it is missing and `create`, make one (a KEK, a signing key).

        Raises KeyUnavailable if the file is missing (and not `create`), unreadable or malformed.
        """
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise KeyUnavailable(f"The key file {path} does not exist.") from None
            kek = _new_kek()
            state = _State(current=kek.id, keks={kek.id: kek}, signing_key=Ed25519PrivateKey.generate())
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_atomically(path, state)
            return cls(path, state)
        except OSError as exc:
            raise KeyUnavailable(f"The key file {path} cannot be read: {exc.strerror}.") from exc
        return cls(path, _parse(raw, path=path))

    def current_kek_id(self) -> str:
        return self._state.current

    def wrap_data_key(self, dek: bytes, *, context: bytes) -> WrappedKey:
        if len(dek) != DATA_KEY_SIZE:
            raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes, not {len(dek)}")
        state = self._state
        kek = state.keks[state.current]
        nonce = os.urandom(_NONCE_SIZE)
        return WrappedKey(
            kek_id=kek.id, ciphertext=nonce + kek.aead.encrypt(nonce, dek, WRAP_AAD_PREFIX + context)
        )

    def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        kek = self._state.keks.get(wrapped.kek_id)
        if kek is None:
            raise KeyUnavailable(
                f"The key {wrapped.kek_id} that wrapped this data key is not held; it was retired or "
                "belongs to another installation.",
                kek_id=wrapped.kek_id,
            )
        nonce, body = wrapped.ciphertext[:_NONCE_SIZE], wrapped.ciphertext[_NONCE_SIZE:]
        try:
            dek = kek.aead.decrypt(nonce, body, WRAP_AAD_PREFIX + context)
        except InvalidTag:
            raise KeyUnavailable(
                f"The wrapped data key does not open with {wrapped.kek_id}: it was changed or was "
                "wrapped for another blob.",
                kek_id=wrapped.kek_id,
            ) from None
        return dek

    def add_kek(self) -> str:
        with self._lock:
            kek = _new_kek()
            old = self._state
            state = _State(current=kek.id, keks={**old.keks, kek.id: kek}, signing_key=old.signing_key)
            # Disk first: a KEK that wrapped a DEK must never exist only in memory.
            _write_atomically(self._path, state)
            self._state = state
            return kek.id

    def retire_kek(self, kek_id: str) -> None:
        with self._lock:
            old = self._state
            if kek_id not in old.keks:
                raise NotFound("kek", kek_id)
            if kek_id == old.current:
                raise Conflict(f"{kek_id} is the current key and cannot be retired; add a new key first.")
            keks = {k: v for k, v in old.keks.items() if k != kek_id}
            state = _State(current=old.current, keks=keks, signing_key=old.signing_key)
            _write_atomically(self._path, state)
            self._state = state

    def kek_ids(self) -> list[str]:
        return list(self._state.keks)

    def sign_audit(self, message: bytes) -> bytes:
        return self._state.signing_key.sign(message)

    def audit_public_key(self) -> bytes:
        return self._state.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _parse(raw: bytes, *, path: Path) -> _State:
    try:
        doc: Any = json.loads(raw)
        if doc["format"] != FILE_FORMAT:
            raise KeyUnavailable(f"The key file {path} has format {doc['format']!r}; expected {FILE_FORMAT}.")
        keks: dict[str, _Kek] = {}
        for entry in doc["keks"]:
            key = base64.b64decode(entry["key"], validate=True)
            if len(key) != DATA_KEY_SIZE:
                raise KeyUnavailable(f"The key file {path} holds a KEK of the wrong length ({entry['id']}).")
            keks[entry["id"]] = _Kek(
                id=entry["id"], created_at=entry["created_at"], key=key, aead=AESGCM(key)
            )
        signing = Ed25519PrivateKey.from_private_bytes(
            base64.b64decode(doc["audit_signing_key"], validate=True)
        )
        current = doc["current"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        # json.JSONDecodeError and a bad Ed25519 key are both ValueErrors.
        raise KeyUnavailable(f"The key file {path} is malformed ({type(exc).__name__}: {exc}).") from exc
    if current not in keks:
        raise KeyUnavailable(f"The key file {path} names a current key ({current}) that it does not hold.")
    return _State(current=current, keks=keks, signing_key=signing)


def _serialise(state: _State) -> bytes:
    signing_raw = state.signing_key.private_bytes_raw()
    doc = {
        "format": FILE_FORMAT,
        "current": state.current,
        "keks": [{"id": k.id, "created_at": k.created_at, "key": _b64(k.key)} for k in state.keks.values()],
        "audit_signing_key": _b64(signing_raw),
    }
    return json.dumps(doc, indent=2).encode("utf-8") + b"\n"


def _write_atomically(path: Path, state: _State) -> None:
    """Replace `path` so that a crash leaves either the old file or the new one, never a mix.

    The temp file is created 0600 (not chmod-ed later), so the keys are never readable by others.
    """
    data = _serialise(state)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
    except OSError as exc:
        raise KeyUnavailable(f"The key file {path} cannot be written: {exc.strerror}.") from exc
