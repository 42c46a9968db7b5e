"""PKCS#11 URIs (RFC 7512) naming the token and key that hold Strongroom's key-encryption keys.

    pkcs11:token=strongroom;object=kek?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/hsm-pin

Path attributes (`;`-separated) say which token and which key label; query attributes (`&`-separated)
say which module to load and where the user PIN comes from (`pin-source=file:...` or `pin-value=...`;
or the `keys.pin` setting, i.e. STRONGROOM_KEYS__PIN). Values are percent-decoded.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote

from strongroom.errors import InputError

SCHEME: Final = "pkcs11:"
_PATH_ATTRIBUTES: Final = frozenset(
    {"token", "object", "manufacturer", "model", "serial", "slot-id", "type", "id"}
)
_QUERY_ATTRIBUTES: Final = frozenset({"module-path", "module-name", "pin-source", "pin-value"})


class KeyUrlInvalid(InputError):
    code = "key_url_invalid"


@dataclass(frozen=True)
class Pkcs11Location:
    module_path: str
    token_label: str
    key_label: str
    pin: str

    def describe(self) -> str:
        """Where the keys are, for logs and `doctor`, without the PIN."""
        return f"pkcs11:token={self.token_label};object={self.key_label} (module {self.module_path})"


def is_pkcs11(url: str | None) -> bool:
    return bool(url) and str(url).startswith(SCHEME)


def parse(url: str, *, pin: str | None = None) -> Pkcs11Location:
    """Parse `url`; `pin` (from settings) is used when the URI names no PIN source.

    Raises KeyUrlInvalid naming what is missing or unknown; the PIN itself never appears in a message.
    """
    if not url.startswith(SCHEME):
        raise KeyUrlInvalid("A PKCS#11 key URL starts with 'pkcs11:'.")
    body = url[len(SCHEME) :]
    path_part, _, query_part = body.partition("?")
    path = _attributes(path_part, ";", _PATH_ATTRIBUTES, "path")
    query = _attributes(query_part, "&", _QUERY_ATTRIBUTES, "query")
    if "token" not in path or "object" not in path:
        raise KeyUrlInvalid("A PKCS#11 key URL names the token and the key: pkcs11:token=...;object=...")
    module = query.get("module-path")
    if not module:
        raise KeyUrlInvalid("A PKCS#11 key URL names the module to load: ?module-path=/path/to/module.so")
    return Pkcs11Location(module, path["token"], path["object"], _pin(query, pin))


def _attributes(text: str, separator: str, known: frozenset[str], where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in filter(None, text.split(separator)):
        name, equals, value = part.partition("=")
        if not equals or name not in known:
            raise KeyUrlInvalid(f"The PKCS#11 key URL has an unknown {where} attribute {name!r}.")
        found[name] = unquote(value)
    return found


def _pin(query: dict[str, str], setting: str | None) -> str:
    source = query.get("pin-source")
    if source is not None:
        if not source.startswith("file:"):
            raise KeyUrlInvalid("pin-source must be a file: URI, e.g. pin-source=file:/run/secrets/hsm-pin")
        try:
            return Path(source.removeprefix("file:")).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyUrlInvalid(f"The HSM PIN file cannot be read ({exc.strerror}).") from None
    if "pin-value" in query:
        return query["pin-value"]
    if setting:
        return setting
    raise KeyUrlInvalid("No HSM PIN: set keys.pin (STRONGROOM_KEYS__PIN) or pin-source=file:... in the URL.")
