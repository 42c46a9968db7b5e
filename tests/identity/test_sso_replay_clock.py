"""A SAML assertion is accepted once, however the clocks disagree. pysaml2 judges NotOnOrAfter by the
app's clock (with its allowed skew), the replay record is purged by the deciding clock (the
database's on PostgreSQL): an assertion the app still takes must still be remembered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from strongroom.clock import SystemClock
from strongroom.db.session import transaction
from strongroom.errors import SignInRefused
from strongroom.identity import sso
from strongroom.runtime import Runtime


def test_an_assertion_just_past_its_end_by_the_deciding_clock_cannot_be_replayed(runtime: Runtime) -> None:
    clock = SystemClock()  # defers to the database's clock on PostgreSQL
    ended = clock.now() - timedelta(minutes=5)  # still taken by an app clock 5 minutes slow
    with transaction(runtime.sessions) as session:
        sso.remember_assertion(session, assertion_id="_a1b2", expires_at=ended, clock=clock)
    with transaction(runtime.sessions) as session, pytest.raises(SignInRefused) as refused:
        sso.remember_assertion(session, assertion_id="_a1b2", expires_at=ended, clock=clock)
    assert refused.value.data["reason"] == "replayed"
