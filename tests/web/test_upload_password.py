"""An upload link with a password: the form, its upload API and its receipts open only after the
password (given apart from the link); wrong ones are refused, recorded and throttled."""

from __future__ import annotations

from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture
from tests.web.test_pages import events_of

PASSWORD = "bus garage 42"


def test_an_upload_link_with_a_password_asks_for_it_first(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    made = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Bus CCTV", "password": PASSWORD},
        headers=alice.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["has_password"] is True
    token = made.json()["url"].rsplit("/r/", 1)[1]
    short = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Bus CCTV", "password": "short"},
        headers=alice.headers,
    )
    assert short.status_code in {400, 422}

    asked = client.get(f"/r/{token}")
    assert asked.status_code == 401
    assert "Enter the password" in asked.text
    assert "Bus CCTV" not in asked.text, "nothing of the request shows before the password"
    api = client.post(f"/r/{token}/api/submissions", json={"form": {"name": "Sam"}})
    assert api.status_code == 401
    assert api.json()["code"] == "unauthenticated"
    posted = client.post(
        f"/r/{token}", data={"name": "Sam"}, files=[("files", ("a.txt", b"x", "text/plain"))]
    )
    assert posted.status_code == 401, "the form post is gated too"

    wrong = client.post(f"/r/{token}/password", data={"password": "bus garage 43"})
    assert wrong.status_code == 401
    assert "not right" in wrong.text
    assert len(events_of(runtime, AuditAction.UPLOAD_PASSWORD_FAILED)) == 1

    right = client.post(f"/r/{token}/password", data={"password": PASSWORD}, follow_redirects=False)
    assert right.status_code == 303
    assert f"path=/r/{token}".lower() in right.headers["set-cookie"].lower()
    assert "httponly" in right.headers["set-cookie"].lower()
    form = client.get(f"/r/{token}")
    assert form.status_code == 200
    assert "Bus CCTV" in form.text
    sent = client.post(
        f"/r/{token}",
        data={"name": "Sam Driver", "email": "sam@garage.example.test"},
        files=[("files", ("camera-3.txt", b"pretend CCTV", "text/plain"))],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert client.get(sent.headers["location"]).status_code == 200
    assert len(events_of(runtime, AuditAction.UPLOAD_PASSWORD_ACCEPTED)) == 1

    # Another browser, without the proof, is asked again; a forged proof does not pass.
    with TestClient(client.app) as other:  # type: ignore[arg-type]
        other.cookies.set("sr_upload_password", "0" * 64, path=f"/r/{token}")
        assert other.get(f"/r/{token}").status_code == 401
        assert other.get(sent.headers["location"]).status_code == 401


def test_wrong_upload_passwords_are_throttled(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    made = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Dashcam", "password": PASSWORD},
        headers=alice.headers,
    )
    token = made.json()["url"].rsplit("/r/", 1)[1]
    limit = runtime.settings.sharing.password_failures_per_link
    for n in range(limit):
        assert client.post(f"/r/{token}/password", data={"password": f"wrong {n}!"}).status_code == 401
    paused = client.post(f"/r/{token}/password", data={"password": PASSWORD})
    assert paused.status_code == 429, "even the right password waits once the link is paused"
    assert "Too many wrong attempts" in paused.text
