"""Settings sections for signing in: local accounts and the force's single sign-on (see `config`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class OidcSettings(BaseModel):
    """Single sign-on with an OpenID Connect provider (Entra ID, Okta, Keycloak...): authorization code
    with PKCE. The redirect URI to register at the provider is `<public_url>/auth/oidc/callback`."""

    issuer: str
    """The provider's issuer URL; its `/.well-known/openid-configuration` is read on first use."""
    client_id: str
    client_secret: str = ""
    """Sent with HTTP Basic to the token endpoint (client_secret_basic)."""
    scopes: list[str] = ["openid", "email", "profile"]
    email_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    """A claim holding a list of group names or ids; each becomes a directory group (read-only here)."""
    trust_email: bool = False
    """Whether this provider's *verified* e-mail addresses may link a sign-in to an existing account.
    Leave off unless the provider is the force's own directory: anyone who controls an account there
    could otherwise take over the local account with the same address."""
    http_timeout_seconds: float = Field(default=10.0, gt=0)


class SamlSettings(BaseModel):
    """Single sign-on with a SAML 2.0 identity provider (ADFS, Entra ID, SimpleSAMLphp...). Strongroom's
    SP metadata is served at `<public_url>/auth/saml/metadata`; the IdP must sign its assertions."""

    idp_metadata_url: str | None = None
    """Where the IdP publishes its metadata (read on first use), or give `idp_metadata_file`."""
    idp_metadata_file: Path | None = None
    entity_id: str | None = None
    """Strongroom's entity id; default `<public_url>/auth/saml/metadata`."""
    email_attribute: str = "mail"
    name_attribute: str = "displayName"
    groups_attribute: str = "groups"
    trust_email: bool = False
    """Whether the IdP's e-mail attribute may link a sign-in to an existing account (SAML has no
    "verified" flag: the IdP vouches for every attribute it signs)."""
    xmlsec_binary: Path = Path("/usr/bin/xmlsec1")
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    allow_sha1: bool = False
    """Accept SHA-1 signatures and digests. Off: SHA-1 collisions are practical, so an IdP still signing
    with RSA-SHA1 is refused until it moves to SHA-256 (ADFS and Entra ID default to SHA-256)."""
    allow_idp_initiated: bool = False
    """Accept answers nobody asked for (sign-in started at the IdP's portal). Off: such an answer cannot
    be tied to the browser it arrives in, so anyone holding one (or an attacker's own) could sign that
    browser in; a captured one is also easier to replay."""


class SsoSettings(BaseModel):
    """The force's single sign-on: an OIDC provider, a SAML IdP, or both; each is a sign-in button."""

    label: str = "your force account"
    """Shown on the sign-in button: "Sign in with <label>"."""
    oidc: OidcSettings | None = None
    saml: SamlSettings | None = None
    request_lifetime_seconds: int = Field(default=600, ge=30, le=3600)
    """How long a started sign-in may take at the provider before it must be started again."""


class AccountSettings(BaseModel):
    """Local accounts and browser sessions: timeouts, sign-in lockout, and whether passwords are allowed."""

    session_idle_minutes: int = Field(default=120, ge=1, le=24 * 60)
    """A browser left alone this long is signed out."""
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    """However active, a browser signs in again after this long (a working shift)."""
    local_passwords: bool = True
    """False: nobody signs in with a Strongroom password (the force's single sign-on only); the API
    and WebDAV take personal access tokens either way."""
    lockout_failures: int = Field(default=5, ge=1, le=1000)
    """Failed sign-ins of one account before it is locked for a while; each further failure doubles it."""
    lockout_address_failures: int = Field(default=20, ge=1, le=100_000)
    """Failed sign-ins from one address before that address is locked for a while."""
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """The first lock's length; it doubles with each further failure, up to a day."""
