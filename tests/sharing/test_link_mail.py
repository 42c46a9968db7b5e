"""Sending a link by e-mail and telling its owner when it is used (issue 15, points 4 and 5), with a real
SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from tests.sharing.test_classification import events, link, put
from tests.support.clock import AdjustableClock
from tests.support.smtp import MailSink
from tests.support.users import UserFixture


def test_the_server_mails_the_link_saying_who_shared_it_from_which_force_about_what_until_when(
    client: TestClient, runtime: Runtime, alice: UserFixture, smtp: MailSink
) -> None:
    runtime.settings.sharing.force_name = "Kent Police"
    file_id = put(client, alice, alice.root_id, "999 call.mp3", b"audio")
    link_id, token = link(
        client,
        alice,
        file_id,
        recipients=["reviewer@cps.example.test"],
        require_recipient_proof=False,
        about="R v Smith, exhibit JD/1",
        expires_in_days=14,
        send_mail=True,
    )
    (message,) = smtp.wait_for("reviewer@cps.example.test")
    body = smtp.body(message)
    assert f"/s/{token}" in body
    assert "Kent Police" in body
    assert "R v Smith, exhibit JD/1" in body
    assert "999 call.mp3" in body
    assert "works until" in body
    assert "Kent Police" in str(message["Subject"])
    mailed = events(runtime, "sharing.link.mailed")
    assert mailed[0]["details"]["recipients"] == ["reviewer@cps.example.test"]
    # The landing page says the same.
    page = client.get(f"/s/{token}").text
    assert "Kent Police" in page
    assert "R v Smith, exhibit JD/1" in page
    assert "Available until" in page
    assert client.get(f"/s/{token}/api").json()["about"] == "R v Smith, exhibit JD/1"
    # Sending needs someone to send it to.
    r = client.post(f"/api/v1/items/{file_id}/shared-links", json={"send_mail": True}, headers=alice.headers)
    assert r.status_code == 400
    assert link_id


def test_an_owner_who_asked_is_told_of_opens_and_downloads_in_one_mail_per_interval(
    client: TestClient, runtime: Runtime, alice: UserFixture, smtp: MailSink, clock: AdjustableClock
) -> None:
    file_id = put(client, alice, alice.root_id, "CCTV bus 42.mp4", b"video")
    _, token = link(client, alice, file_id, notify_owner=True, name="CPS - R v Smith")
    _, quiet = link(client, alice, file_id)
    client.get(f"/s/{token}")
    client.get(f"/s/{token}/content/{file_id}")
    client.get(f"/s/{quiet}")  # this link's owner did not ask to be told
    tasks.mail_link_notices(runtime)
    (first,) = smtp.wait_for(alice.email)
    body = smtp.body(first)
    assert "CPS - R v Smith: opened by anonymous" in body
    assert "CPS - R v Smith: downloaded CCTV bus 42.mp4 by anonymous" in body
    assert body.count("CPS - R v Smith") == 2
    # More use within the interval waits for the next mail, however often the task runs.
    client.get(f"/s/{token}")
    tasks.mail_link_notices(runtime)
    assert len(smtp.to(alice.email)) == 1
    clock.advance(timedelta(seconds=runtime.settings.sharing.notify_every_seconds + 1))
    tasks.mail_link_notices(runtime)
    second = smtp.wait_for(alice.email, count=2)[1]
    assert smtp.body(second).count("opened by anonymous") == 1
