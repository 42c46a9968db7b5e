"""strongroom doctor's single sign-on checks: the libraries and tools each configured protocol needs,
and whether the OIDC provider's metadata answers."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import httpx

from strongroom.cli.doctor_checks import Finding, Level
from strongroom.config import Settings

_EXTRA = "pip install 'strongroom[sso]'"


def checks(settings: Settings) -> Iterator[Finding]:
    sso = settings.sso
    if sso.oidc is None and sso.saml is None:
        yield Finding(Level.OK, "single sign-on", "not configured: local accounts only")
        return
    if sso.oidc is not None:
        yield from _oidc(sso.oidc.issuer, sso.oidc.http_timeout_seconds)
    if sso.saml is not None:
        yield from _saml(sso.saml.xmlsec_binary, sso.saml.idp_metadata_file, sso.saml.idp_metadata_url)


def _missing(*modules: str) -> list[str]:
    return [name for name in modules if importlib.util.find_spec(name) is None]


def _oidc(issuer: str, timeout: float) -> Iterator[Finding]:
    missing = _missing("authlib", "joserfc", "httpx2")
    if missing:
        yield Finding(Level.FAIL, "OIDC", f"missing {', '.join(missing)}", _EXTRA)
        return
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        answer = httpx.get(url, timeout=timeout)
        found = answer.json().get("issuer") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        yield Finding(
            Level.WARN, "OIDC", f"{url} did not answer ({type(exc).__name__})", "check [sso.oidc] issuer"
        )
        return
    if found != issuer:
        yield Finding(
            Level.FAIL, "OIDC", f"{url} names issuer {found!r}", "set [sso.oidc] issuer to exactly that"
        )
        return
    yield Finding(Level.OK, "OIDC", f"provider {issuer} answers")


def _saml(xmlsec: Path, metadata_file: Path | None, metadata_url: str | None) -> Iterator[Finding]:
    missing = _missing("saml2")
    if missing:
        yield Finding(Level.FAIL, "SAML", "missing pysaml2", _EXTRA)
        return
    if not xmlsec.exists():
        yield Finding(
            Level.FAIL,
            "SAML",
            f"{xmlsec} not found: signatures cannot be checked, every sign-in would be refused",
            "apt-get install xmlsec1, or set [sso.saml] xmlsec_binary",
        )
        return
    if metadata_file is None and not metadata_url:
        yield Finding(
            Level.FAIL, "SAML", "no IdP metadata", "set [sso.saml] idp_metadata_url or idp_metadata_file"
        )
        return
    if metadata_file is not None and not metadata_file.exists():
        yield Finding(Level.FAIL, "SAML", f"{metadata_file} not found", "check [sso.saml] idp_metadata_file")
        return
    yield Finding(Level.OK, "SAML", f"xmlsec1 at {xmlsec}, IdP metadata {metadata_file or metadata_url}")
