"""Small secrets sealed in a database row (an authenticator app's shared secret), the way skill cards
are: AES-256-GCM under a fresh data key per value, the data key wrapped by the force's key provider.

The wrap's context is the row's `blob_key` (so `keys rotate` re-wraps it like a version's key), and
the caller names additional data the ciphertext is bound to (the owning user's id), so a sealed value
copied to another row does not open there.
"""

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.storage.keys import KeyProvider, KeyUnavailable, WrappedKey, new_data_key

NONCE = 12


@dataclass(frozen=True)
class Sealed:
    kek_id: str
    wrapped_dek: bytes
    ciphertext: bytes  # nonce + AES-GCM output


class ValueSealer:
    """Seals and opens small values with `keys`; matches `identity.mfa.Sealer`."""

    def __init__(self, keys: KeyProvider) -> None:
        self._keys = keys

    def seal(self, plain: bytes, *, context: str, aad: bytes) -> Sealed:
        """Raises KeyProviderUnavailable when the provider cannot be used."""
        dek = new_data_key()
        nonce = os.urandom(NONCE)
        wrapped = self._keys.wrap_data_key(dek, context=context.encode())
        return Sealed(wrapped.kek_id, wrapped.ciphertext, nonce + AESGCM(dek).encrypt(nonce, plain, aad))

    def open(
        self, *, kek_id: str, wrapped_dek: bytes, ciphertext: bytes, context: str, aad: bytes
    ) -> bytes | None:
        """The value, or None when it does not open for this context and `aad` (changed or copied from
        another row, or its KEK retired). Raises KeyProviderUnavailable when the provider cannot be
        used: that is an outage, never a wrong value."""
        try:
            dek = self._keys.unwrap_data_key(
                WrappedKey(kek_id=kek_id, ciphertext=wrapped_dek), context=context.encode()
            )
            nonce, body = ciphertext[:NONCE], ciphertext[NONCE:]
            return AESGCM(dek).decrypt(nonce, body, aad)
        except (KeyUnavailable, InvalidTag, ValueError):
            return None
