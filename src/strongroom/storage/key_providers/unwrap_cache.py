"""A short-lived cache of unwrapped data keys in front of any key provider, and the key-use log.

The cache keeps repeated reads of one file (a video's Range requests, a preview, a scan) off the
HSM. It is also what bounds the kill switch: an entry lives `seconds` from its unwrap, never
refreshed by use, so when the force disables or withdraws the KEK every read fails within that time.
Entries are dropped on any KEK change. `seconds=0` turns the cache off.

Every unwrap asked of the provider, served from the cache or not, is reported to `on_unwrap`
(the key-use log), so the force can see each use of its key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from strongroom.storage.keys import KekInfo, KeyProvider, WrappedKey

DEFAULT_MAX_ENTRIES: Final = 4096


@dataclass(frozen=True)
class KeyUse:
    kek_id: str
    context: bytes  # the blob key the data key belongs to
    cached: bool


class UnwrapCache:
    """KeyProvider that remembers unwrapped data keys for at most `seconds`."""

    def __init__(
        self,
        inner: KeyProvider,
        *,
        seconds: float,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        on_unwrap: Callable[[KeyUse], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self._seconds = seconds
        self._max_entries = max_entries
        self._on_unwrap = on_unwrap
        self._monotonic = monotonic
        self._entries: OrderedDict[tuple[str, bytes, bytes], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def current_kek_id(self) -> str:
        return self.inner.current_kek_id()

    def wrap_data_key(self, dek: bytes, *, context: bytes) -> WrappedKey:
        return self.inner.wrap_data_key(dek, context=context)

    def unwrap_data_key(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        key = (wrapped.kek_id, wrapped.ciphertext, context)
        now = self._monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] > now:
                self._report(wrapped.kek_id, context, cached=True)
                return found[1]
            self._drop_expired(now)
        dek = self.inner.unwrap_data_key(wrapped, context=context)
        self._report(wrapped.kek_id, context, cached=False)
        if self._seconds > 0:
            with self._lock:
                self._entries[key] = (now + self._seconds, dek)
                while len(self._entries) > self._max_entries:
                    self._entries.popitem(last=False)
        return dek

    def _drop_expired(self, now: float) -> None:
        # Insertion order is expiry order (one lifetime for all), so expired entries lead.
        while self._entries:
            first = next(iter(self._entries.values()))
            if first[0] > now:
                return
            self._entries.popitem(last=False)

    def _report(self, kek_id: str, context: bytes, *, cached: bool) -> None:
        if self._on_unwrap is not None:
            self._on_unwrap(KeyUse(kek_id, context, cached))

    def forget(self) -> None:
        """Drop every cached data key now (a KEK changed, or the operator asked)."""
        with self._lock:
            self._entries.clear()

    def add_kek(self) -> str:
        self.forget()
        return self.inner.add_kek()

    def retire_kek(self, kek_id: str) -> None:
        self.forget()
        self.inner.retire_kek(kek_id)

    def kek_ids(self) -> list[str]:
        return self.inner.kek_ids()

    def keks(self) -> list[KekInfo]:
        return self.inner.keks()
