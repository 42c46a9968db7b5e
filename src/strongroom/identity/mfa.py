"""A second factor for local accounts: an authenticator app (TOTP) with one-time recovery codes, and
WebAuthn security keys.

Rules:
- a password alone opens no session once an account has a confirmed second factor (`sessions.sign_in`
  raises SecondFactorRequired); the sign-in then finishes with `check_code` or a security key;
- a TOTP code is accepted once (the step is remembered), within one step of clock drift;
- the TOTP secret is sealed by the force's key provider and bound to its user (`Sealer`); a secret
  that does not open for its user (copied from another row, changed) accepts no code, and a key
  provider that cannot be used is an outage (503 key_provider_unavailable), never a way round;
- recovery codes (10, shown once, stored as SHA-256) work once each; new ones replace the old;
- security keys: the browser's signed assertion is checked by py_webauthn against the stored public key,
  the expected challenge, origin and relying party; a sign count that goes backwards is refused.
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Protocol

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import InputError, NotFound, Unauthenticated
from strongroom.identity.models import RecoveryCode, SecurityKey, TotpSecret, User

RECOVERY_CODES = 10
ISSUER = "Strongroom"


@dataclass(frozen=True)
class RelyingParty:
    """Who the security keys are registered with: the site's host name and its origin."""

    rp_id: str
    origin: str
    name: str = ISSUER


class SealedValue(Protocol):
    @property
    def kek_id(self) -> str: ...
    @property
    def wrapped_dek(self) -> bytes: ...
    @property
    def ciphertext(self) -> bytes: ...


class Sealer(Protocol):
    """Seals small secrets with the force's key provider (`storage.sealed_values.ValueSealer`; identity
    sits below storage, so it names only what it needs)."""

    def seal(self, plain: bytes, *, context: str, aad: bytes) -> SealedValue: ...

    def open(
        self, *, kek_id: str, wrapped_dek: bytes, ciphertext: bytes, context: str, aad: bytes
    ) -> bytes | None: ...


def _context(user_id: str) -> str:
    return f"totp/{user_id}"


def _seal_into(row: TotpSecret, secret: str, sealer: Sealer) -> None:
    sealed = sealer.seal(secret.encode(), context=_context(row.user_id), aad=row.user_id.encode())
    row.sealed_secret, row.kek_id, row.wrapped_dek = sealed.ciphertext, sealed.kek_id, sealed.wrapped_dek
    row.blob_key, row.secret = _context(row.user_id), None


def _secret_of(row: TotpSecret, sealer: Sealer) -> str | None:
    """The row's secret, or None when it does not open for this user. A clear secret left from before
    sealing is sealed now. Raises KeyProviderUnavailable (503) when the key provider cannot be used."""
    if row.sealed_secret is None:
        if row.secret is None:
            return None
        secret = row.secret
        _seal_into(row, secret, sealer)
        return secret
    if row.blob_key != _context(row.user_id) or row.kek_id is None or row.wrapped_dek is None:
        return None  # sealed for another row
    plain = sealer.open(
        kek_id=row.kek_id,
        wrapped_dek=row.wrapped_dek,
        ciphertext=row.sealed_secret,
        context=_context(row.user_id),
        aad=row.user_id.encode(),
    )
    return None if plain is None else plain.decode()


def seal_clear_secrets(session: Session, sealer: Sealer) -> int:
    """Seal the clear secrets left from before 0011_accounts_totp (run at server start and before a key
    rotation); returns how many."""
    rows = session.scalars(
        select(TotpSecret).where(TotpSecret.sealed_secret.is_(None), TotpSecret.secret.is_not(None))
    ).all()
    for row in rows:
        assert row.secret is not None
        _seal_into(row, row.secret, sealer)
    session.flush()
    return len(rows)


def _digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def totp_on(session: Session, user_id: str) -> bool:
    row = session.get(TotpSecret, user_id)
    return row is not None and row.confirmed_at is not None


def has_second_factor(session: Session, user_id: str) -> bool:
    totp = session.get(TotpSecret, user_id)
    if totp is not None and totp.confirmed_at is not None:
        return True
    return session.scalar(select(SecurityKey.id).where(SecurityKey.user_id == user_id).limit(1)) is not None


def begin_totp(session: Session, user: User, *, sealer: Sealer, clock: Clock) -> str:
    """Start (or restart) enrolling an authenticator app; returns the otpauth:// URI for its QR code."""
    secret = pyotp.random_base32()
    row = session.get(TotpSecret, user.id)
    if row is not None and row.confirmed_at is not None:
        raise InputError("An authenticator app is already set up; remove it first.", field="code")
    if row is None:
        row = TotpSecret(user_id=user.id, created_at=clock.now())
        session.add(row)
    _seal_into(row, secret, sealer)
    row.created_at = clock.now()
    session.flush()
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _totp_step(row: TotpSecret, code: str, *, sealer: Sealer, clock: Clock) -> int | None:
    """The time step a code is valid for (now, or one step either side), or None."""
    secret = _secret_of(row, sealer)
    if secret is None:
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now()
    clean = code.replace(" ", "")
    for drift in (0, -1, 1):
        at = now.timestamp() + drift * totp.interval
        if secrets.compare_digest(totp.at(int(at)), clean):
            return int(at) // totp.interval
    return None


def confirm_totp(
    session: Session, actor: Actor, user: User, *, code: str, sealer: Sealer, clock: Clock
) -> list[str]:
    """Finish enrolling with a first code from the app; returns fresh recovery codes, shown once."""
    row = session.get(TotpSecret, user.id)
    if row is None:
        raise InputError("Start setting up an authenticator app first.", field="code")
    step = _totp_step(row, code, sealer=sealer, clock=clock)
    if step is None:
        raise InputError("That code is not right. Check the time on your phone and try again.", field="code")
    row.confirmed_at, row.last_step = clock.now(), step
    codes = new_recovery_codes(session, user)
    events.record(
        session,
        actor,
        AuditAction.MFA_ENABLED,
        item=ItemRef("user", user.id, user.email),
        details={"method": "totp"},
        at=clock.now(),
    )
    return codes


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; returned in clear once."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(id=new_id("rc"), user_id=user.id, code_hash=_digest(c)) for c in codes)
    session.flush()
    return codes


def check_code(session: Session, user: User, *, code: str, sealer: Sealer, clock: Clock) -> str:
    """Accept a TOTP code (once) or an unused recovery code; returns which. Raises Unauthenticated, or
    KeyProviderUnavailable when the TOTP secret cannot be opened for want of the key provider."""
    row = session.get(TotpSecret, user.id, with_for_update=True)
    # Recovery codes first: they need no key, so they still work while the key provider is away.
    recovery = session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if recovery is not None:
        recovery.used_at = clock.now()
        return "recovery_code"
    if row is not None and row.confirmed_at is not None:
        step = _totp_step(row, code, sealer=sealer, clock=clock)
        if step is not None and (row.last_step is None or step > row.last_step):
            row.last_step = step
            return "totp"
    raise Unauthenticated("That code is not right, or was already used.")


def remove_totp(session: Session, actor: Actor, user: User, *, clock: Clock) -> None:
    session.execute(delete(TotpSecret).where(TotpSecret.user_id == user.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    events.record(
        session,
        actor,
        AuditAction.MFA_DISABLED,
        item=ItemRef("user", user.id, user.email),
        details={"method": "totp"},
        at=clock.now(),
    )


def remove_all(session: Session, actor: Actor, *, user_id: str, clock: Clock) -> int:
    """An administrator removes every second factor of an account (a lost phone and lost codes), so the
    user can sign in with their password and set one up again. Returns how many were removed."""
    if not actor.is_admin:
        raise NotFound("user", user_id)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    removed = int(session.get(TotpSecret, user_id) is not None)
    removed += len(security_keys(session, user_id))
    session.execute(delete(TotpSecret).where(TotpSecret.user_id == user_id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(SecurityKey).where(SecurityKey.user_id == user_id))
    events.record(
        session,
        actor,
        AuditAction.MFA_DISABLED,
        item=ItemRef("user", user.id, user.email),
        details={"method": "all", "by_admin": True, "removed": removed},
        at=clock.now(),
    )
    return removed


# -- security keys (WebAuthn) -----------------------------------------------------------------
# py_webauthn (with cryptography's x509) is imported by the functions that use it: about 14 MiB a
# server would otherwise hold from start-up for the few sign-ins that use a key (issue 14).


def registration_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.create(), as JSON, and the challenge the answer must sign."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    known = session.scalars(select(SecurityKey.credential_id).where(SecurityKey.user_id == user.id))
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_name=user.email,
        user_id=user.id.encode(),
        user_display_name=user.display_name,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in known],
    )
    return options_to_json(options), options.challenge


def register_key(
    session: Session,
    actor: Actor,
    user: User,
    *,
    credential: str,
    challenge: bytes,
    rp: RelyingParty,
    name: str,
    clock: Clock,
) -> SecurityKey:
    """Keep a new security key after checking the browser's attestation. Raises InputError."""
    from webauthn import verify_registration_response
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:  # any malformed answer, too
        raise InputError(f"The security key's answer was not accepted: {exc}", field="credential") from None
    key = SecurityKey(
        id=new_id("sk"),
        user_id=user.id,
        name=(name.strip() or "Security key")[:200],
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        created_at=clock.now(),
    )
    session.add(key)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.MFA_ENABLED,
        item=ItemRef("user", user.id, user.email),
        details={"method": "security_key", "key_id": key.id},
        at=clock.now(),
    )
    return key


def authentication_options(session: Session, user: User, rp: RelyingParty) -> tuple[str, bytes]:
    """Options for navigator.credentials.get() naming the user's keys, and the challenge."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers import base64url_to_bytes
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

    known = session.scalars(select(SecurityKey.credential_id).where(SecurityKey.user_id == user.id))
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in known],
    )
    return options_to_json(options), options.challenge


def check_key(
    session: Session, user: User, *, credential: str, challenge: bytes, rp: RelyingParty, clock: Clock
) -> SecurityKey:
    """Accept a security key's signed answer to `challenge`. Raises Unauthenticated."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        raw_id = str(json.loads(credential)["rawId"])
    except (ValueError, KeyError, TypeError):
        raise Unauthenticated("The security key's answer was not readable.") from None
    key = session.scalar(
        select(SecurityKey).where(SecurityKey.user_id == user.id, SecurityKey.credential_id == raw_id)
    )
    if key is None:
        raise Unauthenticated("That security key is not registered to this account.")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):  # any malformed answer, too
        raise Unauthenticated("The security key's answer was not accepted.") from None
    key.sign_count, key.last_used_at = verified.new_sign_count, clock.now()
    return key


def remove_key(session: Session, actor: Actor, *, key_id: str, clock: Clock) -> None:
    """Remove one of the actor's own security keys. Raises NotFound."""
    key = session.get(SecurityKey, key_id)
    if key is None or key.user_id != actor.user_id:
        raise NotFound("security key", key_id)
    session.delete(key)
    events.record(
        session,
        actor,
        AuditAction.MFA_DISABLED,
        item=ItemRef("user", key.user_id),
        details={"method": "security_key", "key_id": key.id},
        at=clock.now(),
    )


def security_keys(session: Session, user_id: str) -> list[SecurityKey]:
    return list(
        session.scalars(
            select(SecurityKey).where(SecurityKey.user_id == user_id).order_by(SecurityKey.created_at)
        )
    )
