from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, synonym

from strongroom.db.base import Base, IdColumn, UTCDateTime


class User(Base):
    __tablename__ = "user"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    root_folder_id: Mapped[str | None] = mapped_column(IdColumn())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when an administrator resets the password: the web asks for a new one before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Directory provisioning (SCIM) and roles, added by 0009_accounts. `user_name` is the directory's
    # login name (an Entra UPN); local accounts have none and are known by their e-mail.
    user_name: Mapped[str | None] = mapped_column(String(320))
    user_name_key: Mapped[str | None] = mapped_column(String(320), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")
    # What the directory sent that Strongroom has no column for (name parts, phone numbers...), as
    # SCIM JSON, so that a GET gives back what a PUT stored.
    scim_data: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """A personal access token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "access_token"
    __table_args__ = (Index("ix_access_token_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Group(Base):
    """A set of users that grants can name: local, or filled by SCIM from the force's directory."""

    __tablename__ = "user_group"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    external_id: Mapped[str | None] = mapped_column(
        String(200), index=True
    )  # the directory's id, set by SCIM
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    scim_data: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GroupMember(Base):
    __tablename__ = "group_member"
    __table_args__ = (Index("ix_group_member_user_id", "user_id"),)

    group_id: Mapped[str] = mapped_column(ForeignKey("user_group.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a leaked
    database cannot be replayed as cookies. Deleting or revoking the row signs the browser out at once."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class SsoIdentity(Base):
    """An account at the force's identity provider linked to a Strongroom user: the provider's stable
    subject (OIDC `sub`, SAML persistent NameID), never the e-mail, which can be reassigned."""

    __tablename__ = "sso_identity"
    __table_args__ = (Index("ix_sso_identity_user_id", "user_id"),)

    provider: Mapped[str] = mapped_column(String(400), primary_key=True)  # issuer URL or IdP entity id
    subject: Mapped[str] = mapped_column(String(400), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SsoRequest(Base):
    """A sign-in started at a provider and not yet finished: the state, nonce and PKCE verifier (OIDC) or
    the AuthnRequest id (SAML), where to go afterwards, and the hash of the browser-binding cookie.
    Used once: `finished_at` is set when the answer arrives, so a replayed answer is refused."""

    __tablename__ = "sso_request"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # OIDC state or SAML request id
    protocol: Mapped[str] = mapped_column(String(8))
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    nonce: Mapped[str | None] = mapped_column(String(100))
    code_verifier: Mapped[str | None] = mapped_column(String(200))
    next_url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_id: Mapped[str | None] = mapped_column(String(26))  # the web session it opened (for logout)
    id_token: Mapped[str | None] = mapped_column(Text)  # OIDC: the id_token_hint for RP-initiated logout


class SsoReplay(Base):
    """SAML assertion ids already accepted, kept until the assertion would have expired anyway: an
    assertion captured in transit cannot be posted a second time."""

    __tablename__ = "sso_replay"

    assertion_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProvisioningToken(Base):
    """A bearer token for the force's directory (SCIM client). Only its SHA-256 is stored."""

    __tablename__ = "provisioning_token"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TotpSecret(Base):
    """An authenticator app's shared secret. `confirmed_at` is set once the user typed a first code;
    `last_step` (the last accepted 30-second step) refuses a code used twice.

    The secret is sealed (`sealed_secret`, AES-GCM bound to the user id, under a data key wrapped by
    the key provider with `blob_key` = "totp/<user id>" as context, so key rotation re-wraps it like
    any data key). `secret` holds a clear secret only in rows made before 0011_accounts_totp, until
    they are sealed (`mfa.seal_clear_secrets`, or at their next use)."""

    __tablename__ = "mfa_totp"

    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    # Key rotation pages through holders by `id`.
    id: Mapped[str] = synonym("user_id")
    secret: Mapped[str | None] = mapped_column(String(64))
    sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    blob_key: Mapped[str | None] = mapped_column(String(64))
    kek_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(Integer)


class RecoveryCode(Base):
    """A one-time code for when the authenticator is lost. Only its SHA-256 is stored."""

    __tablename__ = "mfa_recovery_code"
    __table_args__ = (Index("ix_mfa_recovery_code_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SecurityKey(Base):
    """A WebAuthn credential (a security key or platform authenticator) registered by a user."""

    __tablename__ = "mfa_security_key"
    __table_args__ = (Index("ix_mfa_security_key_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
