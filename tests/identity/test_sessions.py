"""Browser sessions end when idle too long or too old (settings); people list and end their own, and
administrators sign anyone out; failed sign-ins lock the account and the address, for longer each time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from strongroom.actors import Origin
from strongroom.config import AccountSettings
from strongroom.db.session import transaction
from strongroom.errors import RateLimited, Unauthenticated
from strongroom.identity import sessions
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.users import PASSWORD, UserFixture
from tests.web.test_pages import sign_in

HERE = Origin(ip="192.0.2.10", user_agent="pytest")


def test_idle_and_absolute_timeouts_come_from_the_settings(runtime: Runtime, alice: UserFixture) -> None:
    policy = sessions.SessionPolicy.of(AccountSettings(session_idle_minutes=10, session_max_hours=1))
    clock = AdjustableClock(runtime.clock.now() + timedelta(minutes=1))
    with transaction(runtime.sessions) as session:
        idle = sessions.sign_in(
            session, email=alice.email, password=PASSWORD, origin=HERE, clock=clock, policy=policy
        )
        busy = sessions.sign_in(
            session, email=alice.email, password=PASSWORD, origin=HERE, clock=clock, policy=policy
        )

    def alive(signed: sessions.SignedIn) -> bool:
        with transaction(runtime.sessions) as session:
            token = signed.cookie_token or ""
            return (
                sessions.resume(session, cookie_token=token, origin=HERE, clock=clock, policy=policy)
                is not None
            )

    for _ in range(5):  # the busy browser is used every 9 minutes; the idle one is left alone
        clock.advance(timedelta(minutes=9))
        assert alive(busy)
    assert not alive(idle)
    for _ in range(3):
        clock.advance(timedelta(minutes=9))
        alive(busy)
    assert clock.now() - busy.user.created_at > timedelta(hours=1)
    assert not alive(busy)  # past the absolute lifetime, however active


def test_people_list_and_end_their_sessions_and_admins_sign_anyone_out(
    client: TestClient, runtime: Runtime, alice: UserFixture, admin: UserFixture
) -> None:
    with transaction(runtime.sessions) as session:
        other = sessions.sign_in(
            session, email=alice.email, password=PASSWORD, origin=HERE, clock=runtime.clock
        )
    sign_in(client, alice.email)
    listed = client.get("/api/v1/me/sessions", headers=alice.headers).json()
    assert len(listed) == 2
    page = client.get("/settings")
    assert "192.0.2.10" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    ended = client.post(f"/settings/sessions/{other.session_id}/revoke", data={"csrf_token": csrf.group(1)})
    assert ended.status_code == 200
    assert [s["id"] for s in client.get("/api/v1/me/sessions", headers=alice.headers).json()] != [
        other.session_id
    ]
    assert len(client.get("/api/v1/me/sessions", headers=alice.headers).json()) == 1
    assert client.get("/settings").status_code == 200  # this browser is still signed in

    assert client.post(f"/api/v1/users/{alice.id}/sign-out", headers=alice.headers).status_code == 404
    forced = client.post(f"/api/v1/users/{alice.id}/sign-out", headers=admin.headers)
    assert forced.json() == {"sessions_ended": 1}
    assert client.get("/settings", follow_redirects=False).status_code in (303, 401)
    assert client.get("/api/v1/me/sessions", headers=alice.headers).json() == []


def test_failed_sign_ins_lock_the_account_for_longer_each_time(runtime: Runtime, alice: UserFixture) -> None:
    policy = sessions.SessionPolicy.of(AccountSettings(lockout_failures=3, lockout_minutes=1))
    clock = AdjustableClock(runtime.clock.now() + timedelta(minutes=1))

    def attempt(password: str) -> None:
        try:
            with transaction(runtime.sessions) as session:
                sessions.sign_in(
                    session, email=alice.email, password=password, origin=HERE, clock=clock, policy=policy
                )
        except (Unauthenticated, RateLimited) as exc:
            with transaction(runtime.sessions) as session:
                sessions.record_failure(session, email=alice.email, origin=HERE, clock=clock, reason=exc.code)
            raise

    for _ in range(3):
        with pytest.raises(Unauthenticated):
            attempt("wrong password guess")
    with pytest.raises(RateLimited) as first:
        attempt(PASSWORD)  # locked: even the right password waits
    first_wait = first.value.data["retry_after"]
    assert 0 < first_wait <= 61
    clock.advance(timedelta(seconds=first_wait + 1))
    with pytest.raises(RateLimited) as second:
        attempt(PASSWORD)  # the attempt during the lock counted: the lock doubled, so it still holds
    assert second.value.data["retry_after"] > 0
    clock.advance(timedelta(days=1, seconds=1))
    attempt(PASSWORD)  # a day later, the account opens again
