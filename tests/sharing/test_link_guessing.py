"""Guessing link tokens: throttled per IP address, and audited once per address and window with the
count, never once per guess."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.config import SharingSettings
from strongroom.db.session import transaction
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.users import UserFixture


def audit(runtime: Runtime, action: str) -> list[dict[str, object]]:
    with transaction(runtime.sessions) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
        return [{**json.loads(e.details), "event_ip": e.ip} for e in rows]


def test_guessing_is_paused_per_address_and_counted_once_per_window(
    client: TestClient, runtime: Runtime, alice: UserFixture, clock: AdjustableClock
) -> None:
    put = client.put(f"/api/v1/folders/{alice.root_id}/files/a.txt", content=b"a", headers=alice.headers)
    link = client.post(
        f"/api/v1/items/{put.json()['id']}/shared-links",
        json={"access_level": "anyone"},
        headers=alice.headers,
    )
    token = link.json()["url"].rsplit("/s/", 1)[1]
    limit = SharingSettings().link_guesses_per_ip
    for i in range(limit):
        path = f"/s/guess{i:04d}xxxxxxxxxxxxxxxxxxxxxx" + ("/api" if i % 2 else "")
        assert client.get(path).status_code == 404
    # The address is paused: more guesses, and even the real token, answer 429 until the window ends.
    paused = client.get("/s/one-more-guess/api")
    assert paused.status_code == 429
    assert paused.json()["code"] == "rate_limited"
    assert "Retry-After" in paused.headers
    assert client.get(f"/s/{token}/api").status_code == 429

    throttled = audit(runtime, "sharing.link.guessing_throttled")
    assert len(throttled) == 1
    assert throttled[0]["count"] == limit
    assert audit(runtime, "sharing.link.guessed") == []  # the window is still open

    clock.advance(timedelta(seconds=SharingSettings().throttle_window_seconds + 1))
    assert client.get(f"/s/{token}/api").status_code == 200
    guessed = audit(runtime, "sharing.link.guessed")
    assert len(guessed) == 1
    assert guessed[0]["count"] == limit
    assert guessed[0]["ip"] == guessed[0]["event_ip"] == "testclient"

    # One wrong token in a new window is summarised by the worker once that window is over.
    assert client.get("/s/a-lone-guess-xxxxxxxxxxxxxxxxxxxx").status_code == 404
    clock.advance(timedelta(seconds=SharingSettings().throttle_window_seconds + 1))
    tasks.summarise_link_guesses(runtime)
    counts = [event["count"] for event in audit(runtime, "sharing.link.guessed")]
    assert counts == [limit, 1]


def test_upload_request_tokens_are_guarded_like_link_tokens(
    client: TestClient, runtime: Runtime, alice: UserFixture, clock: AdjustableClock
) -> None:
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "Bus CCTV"}, headers=alice.headers
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    assert client.get(f"/r/{token}").status_code == 200
    limit = SharingSettings().link_guesses_per_ip
    # Wrong upload-link tokens on the page, the chunk API and the receipt all count, with link guesses.
    paths = ["/r/{}", "/r/{}/api/submissions", "/r/{}/receipt/REF-1", "/s/{}"]
    for i in range(limit):
        guess = f"guess{i:04d}xxxxxxxxxxxxxxxxxxxxxx"
        path = paths[i % len(paths)].format(guess)
        answer = client.post(path, json={"form": {}}) if path.endswith("submissions") else client.get(path)
        assert answer.status_code == 404, (path, answer.status_code)
    page = client.get(f"/r/{token}")
    assert page.status_code == 429
    assert "Retry-After" in page.headers
    api = client.post(f"/r/{token}/api/submissions", json={"form": {}})
    assert api.status_code == 429
    assert api.json()["code"] == "rate_limited"
    assert len(audit(runtime, "sharing.link.guessing_throttled")) == 1

    clock.advance(timedelta(seconds=SharingSettings().throttle_window_seconds + 1))
    assert client.get(f"/r/{token}").status_code == 200
    assert [event["count"] for event in audit(runtime, "sharing.link.guessed")] == [limit]
