"""A key provider backed by one local JSON key file (mode 0600), for single-host installs.

File format (2)::

    {"format": 2, "generation": <n>, "current": "kek-<12 hex>",
     "keks": [{"id": "kek-<12 hex>", "created_at": "<ISO 8601 UTC>", "key": "<base64, 32 bytes>",
               "superseded_at": "<ISO 8601 UTC>"  (only once a newer KEK is current)}],
     "retired": [{"id": "kek-<12 hex>", "retired_at": "<ISO 8601 UTC>"}]}

Format 1 (wave 1) had no generation, superseded or retired entries, and held the audit signing key
as "audit_signing_key"; it is read as is, and that entry is kept, untouched, until the signing key
has been moved to its own file (`signing_file.move_legacy_signing_key`).

Every process on the host (server, worker, CLI) may change the file: each change is a new
generation written under the writer lock (`key_files`). A process reloads the file when its stamp
changed before it wraps, and when asked to unwrap with a KEK id it does not know.
"""

import base64
import binascii
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import Conflict, NotFound
from strongroom.storage.key_providers import key_files
from strongroom.storage.keys import DATA_KEY_SIZE, KekInfo, KeyUnavailable, WrappedKey

FILE_FORMAT: Final = 2
READABLE_FORMATS: Final = frozenset({1, 2})
WRAP_AAD_PREFIX: Final = b"strongroom-dek-v1|"
_NONCE_SIZE: Final = 12


@dataclass(frozen=True)
class _Kek:
    id: str
    created_at: str
    key: bytes
    aead: AESGCM = field(repr=False, compare=False)
    superseded_at: str | None = None


@dataclass(frozen=True)
class _State:
    """One generation of the key file; replaced whole on change, so readers need no lock."""

    generation: int
    current: str
    keks: dict[str, _Kek]  # insertion order = creation order
    retired: dict[str, str]  # id -> retired_at, so that a read of retired data says so
    legacy_signing_key: str | None  # format 1's audit signing key, until it has moved out


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _new_kek() -> _Kek:
    key = AESGCM.generate_key(bit_length=256)
    return _Kek(id=f"kek-{secrets.token_hex(6)}", created_at=_now(), key=key, aead=AESGCM(key))


class FileKeyProvider:
    """KeyProvider over a local key file. Thread-safe: changes hold the writer lock; reads use the
    generation loaded until the file changes."""

    def __init__(self, file: key_files.KeyFile[_State]) -> None:
        self._file = file

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Self:
        """Load the key file at `path`; if it is missing and `create`, make one holding one KEK.

        Processes that start together on an empty data dir make one file between them. Raises
        KeyUnavailable if the file is missing (and not `create`), unreadable or malformed.
        """
        file = key_files.KeyFile(path, parse=_parse, serialise=_serialise, what="key file")
        file.open(create=_first_generation if create else None)
        return cls(file)

    def _fresh(self) -> _State:
        return self._file.fresh()

    def current_kek_id(self) -> str:
        return self._fresh().current

    def wrap_data_key(self, dek: bytes, *, context: bytes) -> WrappedKey:
        if len(dek) != DATA_KEY_SIZE:
            raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes, not {len(dek)}")
        # Fresh, never the snapshot: wrapping with a KEK that another process has superseded would
        # hand data to a key that is on its way out.
        state = self._fresh()
        kek = state.keks[state.current]
        nonce = os.urandom(_NONCE_SIZE)
        return WrappedKey(
            kek_id=kek.id, ciphertext=nonce + kek.aead.encrypt(nonce, dek, WRAP_AAD_PREFIX + context)
        )

    def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        # Fresh (one stat): a key file the force has withdrawn stops reads (the kill switch), and a
        # KEK another process added since we loaded the file is found.
        state = self._fresh()
        kek = state.keks.get(wrapped.kek_id)
        if kek is None:
            retired_at = state.retired.get(wrapped.kek_id)
            why = (
                f"was retired on {retired_at}"
                if retired_at
                else "is not held; it belongs to another installation"
            )
            raise KeyUnavailable(
                f"The key {wrapped.kek_id} that wrapped this data key {why}.", kek_id=wrapped.kek_id
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

    def _change(self, make: Callable[[_State], _State]) -> _State:
        return self._file.change(lambda on_disk: replace(make(on_disk), generation=on_disk.generation + 1))

    def add_kek(self) -> str:
        kek = _new_kek()

        def add(old: _State) -> _State:
            at = _now()
            keks = {k: v if v.superseded_at else replace(v, superseded_at=at) for k, v in old.keks.items()}
            return replace(old, current=kek.id, keks={**keks, kek.id: kek})

        self._change(add)
        return kek.id

    def retire_kek(self, kek_id: str) -> None:
        def retire(old: _State) -> _State:
            if kek_id not in old.keks:
                raise NotFound("kek", kek_id)
            if kek_id == old.current:
                raise Conflict(f"{kek_id} is the current key and cannot be retired; add a new key first.")
            keks = {k: v for k, v in old.keks.items() if k != kek_id}
            return replace(old, keks=keks, retired={**old.retired, kek_id: _now()})

        self._change(retire)

    def kek_ids(self) -> list[str]:
        return list(self._fresh().keks)

    def keks(self) -> list[KekInfo]:
        state = self._fresh()
        return [
            KekInfo(
                id=k.id,
                created_at=datetime.fromisoformat(k.created_at),
                superseded_at=datetime.fromisoformat(k.superseded_at) if k.superseded_at else None,
                current=k.id == state.current,
            )
            for k in state.keks.values()
        ]

    def legacy_signing_key(self) -> bytes | None:
        """The raw audit signing key a format-1 file still holds, or None once it has moved out."""
        raw = self._fresh().legacy_signing_key
        return base64.b64decode(raw) if raw else None

    def forget_legacy_signing_key(self) -> None:
        """Drop the format-1 audit signing key; the caller SHALL have stored it elsewhere first."""
        self._change(lambda old: replace(old, legacy_signing_key=None))


def _first_generation() -> _State:
    kek = _new_kek()
    return _State(1, kek.id, {kek.id: kek}, {}, None)


def _parse(raw: bytes, path: Path) -> _State:
    try:
        doc: Any = json.loads(raw)
        if doc["format"] not in READABLE_FORMATS:
            raise KeyUnavailable(f"The key file {path} has format {doc['format']!r}; expected {FILE_FORMAT}.")
        keks: dict[str, _Kek] = {}
        for entry in doc["keks"]:
            key = base64.b64decode(entry["key"], validate=True)
            if len(key) != DATA_KEY_SIZE:
                raise KeyUnavailable(f"The key file {path} holds a KEK of the wrong length ({entry['id']}).")
            keks[entry["id"]] = _Kek(
                id=entry["id"],
                created_at=entry["created_at"],
                key=key,
                aead=AESGCM(key),
                superseded_at=entry.get("superseded_at"),
            )
        legacy = doc.get("audit_signing_key")
        if legacy is not None:
            base64.b64decode(legacy, validate=True)
        retired = {entry["id"]: entry["retired_at"] for entry in doc.get("retired", [])}
        state = _State(int(doc.get("generation", 0)), doc["current"], keks, retired, legacy)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        # json.JSONDecodeError is a ValueError.
        raise KeyUnavailable(f"The key file {path} is malformed ({type(exc).__name__}: {exc}).") from exc
    if state.current not in keks:
        raise KeyUnavailable(
            f"The key file {path} names a current key ({state.current}) that it does not hold."
        )
    return state


def _serialise(state: _State) -> bytes:
    def kek(k: _Kek) -> dict[str, str]:
        entry = {"id": k.id, "created_at": k.created_at, "key": base64.b64encode(k.key).decode("ascii")}
        return entry | ({"superseded_at": k.superseded_at} if k.superseded_at else {})

    doc: dict[str, Any] = {
        "format": FILE_FORMAT,
        "generation": state.generation,
        "current": state.current,
        "keks": [kek(k) for k in state.keks.values()],
        "retired": [{"id": i, "retired_at": at} for i, at in state.retired.items()],
    }
    if state.legacy_signing_key is not None:
        doc["audit_signing_key"] = state.legacy_signing_key
    return json.dumps(doc, indent=2).encode("utf-8") + b"\n"
