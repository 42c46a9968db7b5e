"""OpenID Connect sign-in: authorization code with PKCE (S256), built on authlib, ID tokens checked with
joserfc.

What is checked, and why each matters:
- state: one-time and bound to the browser that started (identity.sso.finish): no login CSRF, no replay;
- nonce: the ID token was minted for this sign-in, not captured from another;
- issuer and audience (and `azp` when there are several audiences): a token for another client or
  from another provider is refused;
- expiry and issue time, with a small leeway for clock skew;
- the signature, with the provider's published keys and only the asymmetric algorithms its metadata
  lists: `none` and any HMAC algorithm are refused, so a token "signed" with the public key as an
  HS256 secret fails (the classic algorithm-confusion forgery).
"""

from __future__ import annotations

import hashlib
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from strongroom.config import OidcSettings
from strongroom.errors import SignInRefused, Unavailable
from strongroom.identity.sso import SsoProfile

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
"""Signature algorithms Strongroom accepts on ID tokens; the provider's metadata narrows the list."""
LEEWAY_SECONDS = 60
MAX_TOKEN_BYTES = 16 * 1024


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Started:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _refused(message: str, reason: str) -> SignInRefused:
    return SignInRefused(message, reason=reason)


class OidcClient:
    """One configured provider. Discovery and keys are fetched once per process and the keys again
    when a token names a key id not yet seen (the provider rotated its keys)."""

    def __init__(self, settings: OidcSettings, *, redirect_uri: str) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._tls = ssl.create_default_context()  # made once: loading the CA bundle costs milliseconds
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._keys: KeySet | None = None

    def _http(self) -> OAuth2Client:
        return OAuth2Client(
            self.settings.client_id,
            self.settings.client_secret,
            scope=" ".join(self.settings.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method name, not a secret
            timeout=self.settings.http_timeout_seconds,
            verify=self._tls,
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                response = http.request("GET", url, withhold_token=True)
            response.raise_for_status()
            data = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise Unavailable("The sign-in provider did not answer. Try again in a minute.") from exc
        if not isinstance(data, dict):
            raise Unavailable("The sign-in provider answered something unexpected.")
        return data

    def metadata(self) -> ProviderMetadata:
        with self._lock:
            if self._metadata is None:
                issuer = self.settings.issuer.rstrip("/")
                doc = self._get_json(f"{issuer}/.well-known/openid-configuration")
                if doc.get("issuer") != self.settings.issuer:
                    raise Unavailable("The sign-in provider's metadata names another issuer.")
                offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
                self._metadata = ProviderMetadata(
                    issuer=str(doc["issuer"]),
                    authorization_endpoint=str(doc["authorization_endpoint"]),
                    token_endpoint=str(doc["token_endpoint"]),
                    jwks_uri=str(doc["jwks_uri"]),
                    userinfo_endpoint=doc.get("userinfo_endpoint"),
                    end_session_endpoint=doc.get("end_session_endpoint"),
                    algorithms=tuple(alg for alg in offered if alg in ASYMMETRIC),
                )
            return self._metadata

    def keys(self, *, refresh: bool = False) -> KeySet:
        meta = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                self._keys = KeySet.import_key_set(self._get_json(meta.jwks_uri))  # type: ignore[arg-type]  # a JWKS dict
            return self._keys

    def start(self) -> Started:
        """A fresh authorization request: the URL to send the browser to, and what to remember."""
        meta = self.metadata()
        verifier = generate_token(64)
        nonce = generate_token(32)
        with self._http() as http:
            url, state = http.create_authorization_url(
                meta.authorization_endpoint, code_verifier=verifier, nonce=nonce
            )
        return Started(url=url, state=state, nonce=nonce, code_verifier=verifier)

    def exchange(self, *, code: str, code_verifier: str) -> dict[str, Any]:
        """Trade the code for tokens at the token endpoint. Raises SignInRefused, Unavailable."""
        token_endpoint = self.metadata().token_endpoint
        try:
            with self._http() as http:
                token = http.fetch_token(
                    token_endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
                )
        except OAuthError as exc:
            raise _refused("The sign-in provider refused the sign-in. Start again.", "code_refused") from exc
        except httpx2.HTTPError as exc:
            raise Unavailable("The sign-in provider did not answer. Try again in a minute.") from exc
        return dict(token)

    def verify_id_token(self, id_token: str, *, nonce: str, now: float) -> dict[str, Any]:
        """The ID token's claims, once every check in this module's docstring passed. Raises SignInRefused."""
        if not id_token or len(id_token) > MAX_TOKEN_BYTES:
            raise _refused("The sign-in provider sent no usable identity.", "id_token_missing")
        meta = self.metadata()
        try:
            try:
                token = jwt.decode(id_token, self.keys(), algorithms=list(meta.algorithms))
            except JoseError as exc:
                if type(exc).__name__ != "InvalidKeyIdError":
                    raise
                token = jwt.decode(id_token, self.keys(refresh=True), algorithms=list(meta.algorithms))
        except (JoseError, ValueError, TypeError) as exc:
            raise _refused("The sign-in answer's signature is not valid.", "bad_signature") from exc
        claims = dict(token.claims)
        self._check_claims(claims, nonce=nonce, now=now)
        return claims

    def _check_claims(self, claims: dict[str, Any], *, nonce: str, now: float) -> None:
        if claims.get("iss") != self.metadata().issuer:
            raise _refused("The sign-in answer came from another provider.", "wrong_issuer")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or self.settings.client_id not in audiences:
            raise _refused("The sign-in answer was meant for another service.", "wrong_audience")
        if len(audiences) > 1 and claims.get("azp") != self.settings.client_id:
            raise _refused("The sign-in answer was meant for another service.", "wrong_audience")
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, int | float) or expires + LEEWAY_SECONDS < now:
            raise _refused("The sign-in answer has expired. Start again.", "expired")
        if not isinstance(issued, int | float) or issued - LEEWAY_SECONDS > now:
            raise _refused("The sign-in answer is dated in the future.", "issued_in_future")
        if claims.get("nonce") != nonce:
            raise _refused("The sign-in answer does not belong to this sign-in. Start again.", "bad_nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise _refused("The sign-in provider sent no usable identity.", "no_subject")

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """Claims the provider keeps out of the ID token (e-mail, name, groups), if it has the endpoint."""
        endpoint = self.metadata().userinfo_endpoint
        if not endpoint or not access_token:
            return {}
        try:
            with self._http() as http:
                bearer = {"Authorization": f"Bearer {access_token}"}
                response = http.request("GET", endpoint, headers=bearer, withhold_token=True)
            response.raise_for_status()
            data = response.json()
        except (httpx2.HTTPError, ValueError) as exc:
            raise Unavailable("The sign-in provider did not answer. Try again in a minute.") from exc
        return data if isinstance(data, dict) else {}

    def profile(self, claims: dict[str, Any], userinfo: dict[str, Any]) -> SsoProfile:
        """Map checked claims to a profile with the configured claim names; userinfo only fills gaps,
        and only when it is about the same subject."""
        merged = dict(userinfo) if userinfo.get("sub") == claims["sub"] else {}
        merged.update(claims)
        email = merged.get(self.settings.email_claim)
        name = merged.get(self.settings.name_claim)
        groups = merged.get(self.settings.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        verified = merged.get("email_verified")
        return SsoProfile(
            protocol="oidc",
            provider=self.metadata().issuer,
            subject=str(claims["sub"])[:400],
            email=email if isinstance(email, str) else None,
            email_verified=verified is True or verified == "true",
            name=name if isinstance(name, str) else None,
            groups=tuple(str(group) for group in groups if isinstance(group, str | int)),
        )

    def logout_url(self, *, id_token: str | None, after: str) -> str | None:
        """Where to send the browser to sign out at the provider too (RP-initiated logout), if it can."""
        endpoint = self.metadata().end_session_endpoint
        if not endpoint:
            return None
        query = {"client_id": self.settings.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        separator = "&" if "?" in endpoint else "?"
        return f"{endpoint}{separator}{urlencode(query)}"


def browser_token() -> str:
    """A random value for the cookie that binds a sign-in to the browser that started it."""
    return hashlib.sha256(generate_token(48).encode()).hexdigest()
