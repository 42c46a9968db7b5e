"""Open the key provider the settings name: the PKCS#11 token of `keys.url`, or the key file."""

from __future__ import annotations

from strongroom.config import Settings
from strongroom.storage.key_providers import pkcs11_uri
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.keys import KeyProvider


def open_key_provider(settings: Settings, *, create: bool = True) -> KeyProvider:
    """The configured provider. `create` makes the first KEK (a new key file, or a key in an empty
    token); without it a missing key is an error (doctor, restore checks)."""
    url = settings.keys.url
    if url and pkcs11_uri.is_pkcs11(url):
        from strongroom.storage.key_providers.pkcs11 import Pkcs11KeyProvider

        return Pkcs11KeyProvider.open(pkcs11_uri.parse(url, pin=settings.keys.pin), create=create)
    return FileKeyProvider.open(settings.key_file, create=create)


def describe(settings: Settings) -> str:
    """Where the KEKs are, for operators (never the PIN)."""
    url = settings.keys.url
    if url and pkcs11_uri.is_pkcs11(url):
        return pkcs11_uri.parse(url, pin=settings.keys.pin or "-").describe()
    return str(settings.key_file)
