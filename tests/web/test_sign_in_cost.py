"""Sign-in costs the same on every path, so its timing does not tell which accounts exist or have a
password: exactly one argon2 verification runs for an unknown address, an account without a password
(an SSO account), a wrong password and the right one. Counted, not timed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.identity import users
from strongroom.runtime import Runtime
from tests.support.users import PASSWORD, UserFixture
from tests.web.test_pages import login_csrf


class CountingHasher(PasswordHasher):
    """The real argon2id hasher, counting verifications."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 - argon2's name
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingHasher]:
    counting = CountingHasher()
    monkeypatch.setattr(users, "_hasher", counting)
    users._dummy_hash.cache_clear()  # made again with the counting hasher
    yield counting
    users._dummy_hash.cache_clear()  # made again with the counting hasher


@pytest.fixture
def sso_officer(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        user = users.create_user(
            session, Actor.system(label="tests"), email="sso.officer@force.police.test", clock=runtime.clock
        )
        return user.email


def attempt(client: TestClient, email: str, password: str) -> int:
    token = login_csrf(client)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False
    )
    return response.status_code


@pytest.mark.parametrize("who", ["unknown address", "account without a password", "wrong password", "right"])
def test_every_sign_in_path_runs_exactly_one_argon2_verification(
    client: TestClient, alice: UserFixture, sso_officer: str, hasher: CountingHasher, who: str
) -> None:
    email, password, status = {
        "unknown address": ("nobody@force.police.test", PASSWORD, 401),
        "account without a password": (sso_officer, PASSWORD, 401),
        "wrong password": (alice.email, "not the right password", 401),
        "right": (alice.email, PASSWORD, 303),
    }[who]
    before = hasher.verifications
    assert attempt(client, email, password) == status
    assert hasher.verifications - before == 1


def test_a_stored_value_that_is_no_argon2_hash_still_costs_one_verification(hasher: CountingHasher) -> None:
    assert not users.password_matches("!disabled", PASSWORD)
    assert hasher.verifications == 1
