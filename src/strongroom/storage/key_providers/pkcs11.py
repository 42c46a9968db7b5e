"""A key provider whose key-encryption keys live in a PKCS#11 token (an HSM; SoftHSM2 in tests).

The KEKs never leave the token: they are made there non-extractable, and every data key is wrapped
and unwrapped inside it with AES key wrap with padding (RFC 5649, CKM_AES_KEY_WRAP_PAD). What is
wrapped is the data key followed by SHA-256 of the blob it belongs to (`context`), so a wrapped key
moved to another blob's row does not open there: key wrap has no associated data of its own.

Every KEK carries the URI's `object` as its label and its Strongroom id as CKA_ID. The id starts with
its creation time, so the token alone says which KEK is current (the newest) and when each older one
was superseded (when the next was made): no state is kept outside the token, and a KEK made by
`strongroom keys rotate` in another process is used for wrapping within a second.

When the token cannot be used (removed, PIN changed, sessions closed, the force disabled the key)
the provider reopens its session once and otherwise raises KeyProviderUnavailable (503): nothing
falls back to another key. The next call tries again, so service returns with the token.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TypeVar

from strongroom.errors import Conflict, NotFound
from strongroom.storage.key_providers.pkcs11_uri import Pkcs11Location
from strongroom.storage.keys import DATA_KEY_SIZE, KekInfo, KeyProviderUnavailable, KeyUnavailable, WrappedKey

T = TypeVar("T")

CONTEXT_PREFIX: Final = b"strongroom-dek-v1|"
_ID_TIME_FORMAT: Final = "%Y%m%dT%H%M%S%fZ"
_RETRY_PAUSE_SECONDS: Final = 1.0  # after a failed reconnect, fail fast for this long
_KEK_LIST_SECONDS: Final = 1.0


def _binding(context: bytes) -> bytes:
    return hashlib.sha256(CONTEXT_PREFIX + context).digest()


def new_kek_id(now: datetime) -> str:
    return f"kek-{now.strftime(_ID_TIME_FORMAT)}-{secrets.token_hex(3)}"


def created_at(kek_id: str) -> datetime:
    try:
        return datetime.strptime(kek_id.split("-")[1], _ID_TIME_FORMAT).replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return datetime.fromtimestamp(0, UTC)  # a key made by other tools: oldest


class Pkcs11KeyProvider:
    """KeyProvider over a PKCS#11 token. Thread-safe: one session, used under a lock (SoftHSM2
    unwraps several thousand keys a second that way; the unwrap cache keeps repeats off it)."""

    def __init__(self, location: Pkcs11Location) -> None:
        import pkcs11

        self._pkcs11 = pkcs11
        self._location = location
        self._lock = threading.Lock()
        self._session: Any = None
        self._keks: dict[str, Any] = {}
        self._failed_at = 0.0
        self._listed_at = 0.0
        self._library = pkcs11.lib(location.module_path)

    @classmethod
    def open(cls, location: Pkcs11Location, *, create: bool = True) -> Pkcs11KeyProvider:
        """Connect and, if the token holds no KEK under the label yet and `create`, make the first."""
        provider = cls(location)
        if not provider.kek_ids():
            if not create:
                raise KeyUnavailable(f"The token holds no key labelled {location.key_label!r}.")
            provider.add_kek()
        return provider

    def describe(self) -> str:
        return self._location.describe()

    # The token -----------------------------------------------------------------------------------

    def _open_session(self) -> Any:
        exceptions = self._pkcs11.exceptions
        try:
            token = self._library.get_token(token_label=self._location.token_label)
        except (exceptions.NoSuchToken, exceptions.TokenNotPresent):
            # A token that was away may be back: ask the module to look at its slots afresh.
            self._library.reinitialize()
            token = self._library.get_token(token_label=self._location.token_label)
        try:
            session = token.open(user_pin=self._location.pin, rw=True)
        except exceptions.UserAlreadyLoggedIn:
            # PKCS#11 logins are per process and token: another provider here is signed in already.
            session = token.open(rw=True)
        self._keks = {}
        return session

    def _drop_session(self) -> None:
        session, self._session, self._keks = self._session, None, {}
        if session is not None:
            with contextlib.suppress(self._pkcs11.exceptions.PKCS11Error):  # gone with the token
                session.close()

    def _use(self, operation: Callable[[Any], T]) -> T:
        """Run `operation` on the session, reopening it once if the token says it is gone."""
        exceptions = self._pkcs11.exceptions
        with self._lock:
            if self._session is None and time.monotonic() - self._failed_at < _RETRY_PAUSE_SECONDS:
                raise KeyProviderUnavailable(
                    "The hardware security module could not be reached a moment ago; nothing was read."
                )
            last: Exception | None = None
            for attempt in range(3):
                try:
                    if self._session is None:
                        if attempt == 2:
                            # A token taken away and brought back is only seen after the module
                            # looks at its slots afresh (other providers here reconnect by themselves).
                            self._library.reinitialize()
                        self._session = self._open_session()
                    return operation(self._session)
                except (KeyUnavailable, KeyProviderUnavailable, NotFound, Conflict):
                    raise
                except (exceptions.WrappedKeyInvalid, exceptions.WrappedKeyLenRange, exceptions.DataLenRange):
                    raise KeyUnavailable("The wrapped data key does not open: it was changed.") from None
                except exceptions.PKCS11Error as exc:
                    last = exc
                    self._drop_session()
            self._failed_at = time.monotonic()
            raise KeyProviderUnavailable(
                f"The hardware security module refused or cannot be reached ({_describe(last)}); "
                "reads and uploads wait until it is back. Nothing was lost.",
                hsm=self._location.describe(),
            )

    def _find_keks(self, session: Any) -> dict[str, Any]:
        attribute, object_class = self._pkcs11.Attribute, self._pkcs11.ObjectClass
        found: dict[str, Any] = {}
        for key in session.get_objects(
            {attribute.CLASS: object_class.SECRET_KEY, attribute.LABEL: self._location.key_label}
        ):
            raw_id = bytes(key[attribute.ID])
            found[raw_id.decode("ascii", "replace") if raw_id else f"kek-{raw_id.hex()}"] = key
        self._keks = dict(sorted(found.items()))
        self._listed_at = time.monotonic()
        return self._keks

    def _recent_keks(self, session: Any) -> dict[str, Any]:
        """The KEK list, looked up again when over a second old. Listing the token's objects costs more
        than the wrap itself, and a rotation re-wraps row after row; a KEK another process added is
        used within a second, and the retirement grace period (an hour) covers wraps made with the
        previous one meanwhile (writers also re-wrap at finish: `wrapped_with_current`)."""
        if not self._keks or time.monotonic() - self._listed_at > _KEK_LIST_SECONDS:
            self._find_keks(session)
        return self._keks

    def _kek(self, session: Any, kek_id: str) -> Any:
        kek = self._keks.get(kek_id) or self._find_keks(session).get(kek_id)
        if kek is None:
            # Nothing is retired while it still wraps a data key, so a missing KEK was withdrawn
            # (or the row comes from another installation): the kill switch, not damaged data.
            raise KeyProviderUnavailable(
                f"The key {kek_id} that wrapped this data key is not in the token: it was withdrawn, "
                "or belongs to another installation.",
                kek_id=kek_id,
            )
        return kek

    # KeyProvider ---------------------------------------------------------------------------------

    def current_kek_id(self) -> str:
        return self._use(lambda session: _newest(self._find_keks(session), self._location.key_label))

    def wrap_data_key(self, dek: bytes, *, context: bytes) -> WrappedKey:
        if len(dek) != DATA_KEY_SIZE:
            raise ValueError(f"a data key is {DATA_KEY_SIZE} bytes, not {len(dek)}")
        pkcs11 = self._pkcs11

        def wrap(session: Any) -> WrappedKey:
            kek_id = _newest(self._recent_keks(session), self._location.key_label)
            _require(self._keks[kek_id], "wrap_key", kek_id)
            ciphertext = _wrap(pkcs11, session, self._keks[kek_id], dek + _binding(context))
            return WrappedKey(kek_id=kek_id, ciphertext=ciphertext)

        return self._use(wrap)

    def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        pkcs11 = self._pkcs11

        def unwrap(session: Any) -> bytes:
            kek = self._kek(session, wrapped.kek_id)
            if not hasattr(kek, "unwrap_key"):  # disabled when we looked: look again
                kek = self._find_keks(session).get(wrapped.kek_id, kek)
            _require(kek, "unwrap_key", wrapped.kek_id)
            try:
                return _unwrap(pkcs11, kek, wrapped.ciphertext)
            except pkcs11.exceptions.PKCS11Error:
                # Tokens report a failed integrity check in different ways (SoftHSM2: a general
                # error). If the same KEK still wraps and unwraps a fresh key, the token is fine and
                # it is this wrapped key that was changed; otherwise the probe's error propagates.
                probe = secrets.token_bytes(DATA_KEY_SIZE + len(_binding(b"")))
                if _unwrap(pkcs11, kek, _wrap(pkcs11, session, kek, probe)) != probe:
                    raise
                raise KeyUnavailable(
                    f"The wrapped data key does not open with {wrapped.kek_id}: it was changed.",
                    kek_id=wrapped.kek_id,
                ) from None

        value = self._use(unwrap)
        dek, binding = value[:DATA_KEY_SIZE], value[DATA_KEY_SIZE:]
        if len(dek) != DATA_KEY_SIZE or not hmac.compare_digest(binding, _binding(context)):
            raise KeyUnavailable(
                f"The wrapped data key opened with {wrapped.kek_id} belongs to another blob.",
                kek_id=wrapped.kek_id,
            )
        return dek

    def add_kek(self) -> str:
        pkcs11 = self._pkcs11

        def generate(session: Any) -> str:
            # Ids order KEKs by creation; after a clock step back, still after the newest.
            existing = self._find_keks(session)
            at = datetime.now(UTC)
            if existing:
                at = max(at, created_at(next(reversed(existing))) + timedelta(microseconds=1))
            kek_id = new_kek_id(at)
            session.generate_key(
                pkcs11.KeyType.AES,
                256,
                id=kek_id.encode("ascii"),
                label=self._location.key_label,
                store=True,
                capabilities=pkcs11.MechanismFlag.WRAP | pkcs11.MechanismFlag.UNWRAP,
                template={pkcs11.Attribute.SENSITIVE: True, pkcs11.Attribute.EXTRACTABLE: False},
            )
            self._keks = {}
            return kek_id

        return self._use(generate)

    def retire_kek(self, kek_id: str) -> None:
        def retire(session: Any) -> None:
            keks = self._find_keks(session)
            if kek_id not in keks:
                raise NotFound("kek", kek_id)
            if kek_id == _newest(keks, self._location.key_label):
                raise Conflict(f"{kek_id} is the current key and cannot be retired; add a new key first.")
            keks[kek_id].destroy()
            self._keks = {}

        self._use(retire)

    def kek_ids(self) -> list[str]:
        return self._use(lambda session: list(self._find_keks(session)))

    def keks(self) -> list[KekInfo]:
        ids = self.kek_ids()
        return [
            KekInfo(
                id=kek_id,
                created_at=created_at(kek_id),
                superseded_at=created_at(ids[n + 1]) if n + 1 < len(ids) else None,
                current=n + 1 == len(ids),
            )
            for n, kek_id in enumerate(ids)
        ]

    def close(self) -> None:
        with self._lock:
            self._drop_session()


def _require(kek: Any, operation: str, kek_id: str) -> None:
    """python-pkcs11 gives a key object the methods its attributes allow: a KEK the force has
    disabled (CKA_UNWRAP or CKA_WRAP false: the kill switch) has no unwrap_key / wrap_key."""
    if not hasattr(kek, operation):
        raise KeyProviderUnavailable(
            f"The key {kek_id} is disabled in the hardware security module; reads and uploads wait "
            "until the force enables it again.",
            kek_id=kek_id,
        )


def _wrap(pkcs11: Any, session: Any, kek: Any, value: bytes) -> bytes:
    """Wrap `value` with `kek` inside the token (it passes through a short-lived session object)."""
    carrier = session.create_object(
        {
            pkcs11.Attribute.CLASS: pkcs11.ObjectClass.SECRET_KEY,
            pkcs11.Attribute.KEY_TYPE: pkcs11.KeyType.GENERIC_SECRET,
            pkcs11.Attribute.VALUE: value,
            pkcs11.Attribute.TOKEN: False,
            pkcs11.Attribute.SENSITIVE: False,
            pkcs11.Attribute.EXTRACTABLE: True,
        }
    )
    try:
        return bytes(kek.wrap_key(carrier, mechanism=pkcs11.Mechanism.AES_KEY_WRAP_PAD))
    finally:
        carrier.destroy()


def _unwrap(pkcs11: Any, kek: Any, ciphertext: bytes) -> bytes:
    carrier = kek.unwrap_key(
        pkcs11.ObjectClass.SECRET_KEY,
        pkcs11.KeyType.GENERIC_SECRET,
        ciphertext,
        mechanism=pkcs11.Mechanism.AES_KEY_WRAP_PAD,
        template={
            pkcs11.Attribute.TOKEN: False,
            pkcs11.Attribute.SENSITIVE: False,
            pkcs11.Attribute.EXTRACTABLE: True,
        },
    )
    try:
        return bytes(carrier[pkcs11.Attribute.VALUE])
    finally:
        carrier.destroy()


def _newest(keks: dict[str, Any], label: str) -> str:
    if not keks:
        raise KeyProviderUnavailable(f"The token holds no key labelled {label!r}; nothing can be wrapped.")
    return next(reversed(keks))


def _describe(exc: Exception | None) -> str:
    if exc is None:
        return "no answer"
    name = type(exc).__name__
    return f"{name}: {exc}" if str(exc) else name
