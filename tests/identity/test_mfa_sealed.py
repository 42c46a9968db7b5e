"""Authenticator app secrets are sealed by the force's key provider and bound to their user: the
database holds no secret an attacker could use, key rotation carries them along, a secret copied to
another account opens nothing, and a withdrawn key stops TOTP sign-in with a 503, never a bypass."""

from __future__ import annotations

import base64
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from strongroom.config import Settings
from strongroom.db.session import transaction
from strongroom.identity import mfa
from strongroom.identity.models import RecoveryCode, TotpSecret
from strongroom.runtime import Runtime
from strongroom.storage.sealed_values import ValueSealer
from tests.cli.test_server_cli import run_cli
from tests.identity.test_mfa import enrol_totp, password_step, use_up_step
from tests.support.users import UserFixture


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # No unwrap cache: a withdrawn key must show at the next sign-in, not 30 seconds later.
    return settings.model_copy(update={"keys": settings.keys.model_copy(update={"unwrap_cache_seconds": 0})})


def totp_sign_in(client: TestClient, email: str, code: str) -> int:
    client.cookies.clear()
    assert password_step(client, email).status_code == 303
    answer = client.post("/login/mfa", data={"code": code, "next": "/files"}, follow_redirects=False)
    client.cookies.clear()
    return answer.status_code


def raw_row(runtime: Runtime, user_id: str) -> dict[str, object]:
    with runtime.engine.connect() as connection:
        row = (
            connection.execute(text("SELECT * FROM mfa_totp WHERE user_id = :u"), {"u": user_id})
            .mappings()
            .one()
        )
    return dict(row)


def test_the_database_holds_no_clear_secret_and_sign_in_still_works(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    totp, _ = enrol_totp(client, runtime, alice)
    row = raw_row(runtime, alice.id)
    assert row["secret"] is None
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row.values())
    assert totp.secret.encode() not in stored
    assert base64.b32decode(totp.secret) not in stored  # nor the raw key bytes
    use_up_step(runtime, alice)
    assert totp_sign_in(client, alice.email, totp.now()) == 303
    # Recovery codes are kept as SHA-256 digests only.
    with transaction(runtime.sessions) as session:
        digests = session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == alice.id)
        ).all()
    assert len(digests) == 10
    assert all(len(d) == 64 for d in digests)


def test_key_rotation_re_wraps_the_secrets_and_sign_in_works_after(
    client: TestClient, runtime: Runtime, settings: Settings, alice: UserFixture
) -> None:
    totp, _ = enrol_totp(client, runtime, alice)
    before = raw_row(runtime, alice.id)["kek_id"]
    out = run_cli(settings, "keys", "rotate", "--grace-seconds", "0").stdout
    assert "re-wrapped" in out
    after = raw_row(runtime, alice.id)["kek_id"]
    assert after != before
    assert after == runtime.keys.current_kek_id()
    assert before not in runtime.keys.kek_ids()  # the old key was retired: only the re-wrap opens it
    use_up_step(runtime, alice)
    assert totp_sign_in(client, alice.email, totp.now()) == 303


def test_a_secret_copied_to_another_account_opens_nothing(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    totp, _ = enrol_totp(client, runtime, alice)
    with transaction(runtime.sessions) as session:
        mine = session.get(TotpSecret, alice.id)
        assert mine is not None
        session.add(
            TotpSecret(
                user_id=bob.id,
                sealed_secret=mine.sealed_secret,
                blob_key=mine.blob_key,
                kek_id=mine.kek_id,
                wrapped_dek=mine.wrapped_dek,
                created_at=mine.created_at,
                confirmed_at=mine.confirmed_at,
            )
        )
    assert totp_sign_in(client, bob.email, totp.now()) == 401
    # Even with the wrap's context made to look like Bob's, the secret is bound to Alice's id.
    with transaction(runtime.sessions) as session:
        row = session.get(TotpSecret, bob.id)
        assert row is not None
        row.blob_key = f"totp/{bob.id}"
    assert totp_sign_in(client, bob.email, totp.now()) == 401
    use_up_step(runtime, alice)
    assert totp_sign_in(client, alice.email, totp.now()) == 303


def test_a_withdrawn_key_answers_503_not_a_bypass(
    client: TestClient, runtime: Runtime, settings: Settings, alice: UserFixture
) -> None:
    totp, codes = enrol_totp(client, runtime, alice)
    use_up_step(runtime, alice)
    key_file = settings.key_file
    escrow = key_file.with_name("escrow.json")
    key_file.rename(escrow)  # the force withdraws its key
    try:
        client.cookies.clear()
        assert password_step(client, alice.email).status_code == 303
        answer = client.post(
            "/login/mfa", data={"code": totp.now(), "next": "/files"}, follow_redirects=False
        )
        assert answer.status_code == 503, answer.text
        assert "the service is unavailable" in answer.text
        assert "key file" in answer.text
        assert client.get("/files", follow_redirects=False).status_code == 303  # still not signed in
        # A recovery code needs no key.
        assert totp_sign_in(client, alice.email, codes[0]) == 303
    finally:
        escrow.rename(key_file)
    use_up_step(runtime, alice)
    assert totp_sign_in(client, alice.email, totp.now()) == 303


def test_clear_secrets_from_before_sealing_are_sealed_and_keep_working(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture
) -> None:
    secrets = {alice.id: pyotp.random_base32(), bob.id: pyotp.random_base32()}
    with transaction(runtime.sessions) as session:
        for user_id, secret in secrets.items():
            now = runtime.clock.now()
            session.add(TotpSecret(user_id=user_id, secret=secret, created_at=now, confirmed_at=now))
    # Bob signs in before anything sealed his: his secret is sealed at its first use.
    assert totp_sign_in(client, bob.email, pyotp.TOTP(secrets[bob.id]).now()) == 303
    assert raw_row(runtime, bob.id)["secret"] is None
    # The step run at server start and before a rotation seals the rest.
    with transaction(runtime.sessions) as session:
        assert mfa.seal_clear_secrets(session, ValueSealer(runtime.keys)) == 1
    assert raw_row(runtime, alice.id)["secret"] is None
    assert totp_sign_in(client, alice.email, pyotp.TOTP(secrets[alice.id]).now()) == 303


def test_serve_seals_clear_secrets_at_start(runtime: Runtime, alice: UserFixture, tmp_path: Path) -> None:
    from strongroom.cli.server import seal_clear_totp_secrets

    with transaction(runtime.sessions) as session:
        now = runtime.clock.now()
        session.add(TotpSecret(user_id=alice.id, secret=pyotp.random_base32(), created_at=now))
    assert seal_clear_totp_secrets(runtime) == 1
    assert raw_row(runtime, alice.id)["sealed_secret"] is not None
