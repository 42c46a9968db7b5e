"""Sign-in locks hold in an app process whose clock runs behind the database's. Expiry is judged by
the database's clock on PostgreSQL (audit.timeline.decision_time), so the failures that start a lock
must be timed by it too: timed by the app's clock an hour behind, a lock of minutes would be over
before it began, and guessing passwords would never be slowed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from strongroom.actors import Origin
from strongroom.clock import SystemClock
from strongroom.db.session import transaction
from strongroom.errors import RateLimited
from strongroom.identity import sessions
from strongroom.runtime import Runtime


class HourBehind(SystemClock):
    """The system clock of a process whose time is an hour slow (a bad RTC at boot, no NTP yet)."""

    def now(self) -> datetime:
        return super().now() - timedelta(hours=1)


def test_a_sign_in_lock_holds_when_the_app_clock_runs_behind_the_database(runtime: Runtime) -> None:
    if runtime.sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("only PostgreSQL has a clock of its own; SQLite's decisions follow the app's")
    clock, origin = HourBehind(), Origin(ip="192.0.2.7")
    for _ in range(sessions.DEFAULT_POLICY.account_failures):
        with transaction(runtime.sessions) as session:
            sessions.check_throttle(session, email="pat@force.police.test", origin=origin, clock=clock)
            sessions.record_failure(
                session, email="pat@force.police.test", origin=origin, clock=clock, reason="bad_credentials"
            )
    with transaction(runtime.sessions) as session, pytest.raises(RateLimited):
        sessions.check_throttle(session, email="pat@force.police.test", origin=origin, clock=clock)
