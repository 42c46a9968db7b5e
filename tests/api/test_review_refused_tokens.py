"""A disabled account, a revoked token and an expired token are refused on every door, including the
download hot path that checks the token inside the read's own transaction (api.deps.signed_in)."""

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.identity import accounts
from strongroom.identity.models import AccessToken
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def _doors(client: TestClient, user: UserFixture, file_id: str) -> dict[str, int]:
    basic = base64.b64encode(f"{user.email}:{user.token}".encode()).decode()
    return {
        "download": client.get(f"/api/v1/files/{file_id}/content", headers=user.headers).status_code,
        "range": client.get(
            f"/api/v1/files/{file_id}/content", headers={**user.headers, "Range": "bytes=0-1"}
        ).status_code,
        "metadata": client.get(f"/api/v1/files/{file_id}", headers=user.headers).status_code,
        "webdav": client.get("/dav/exhibit.txt", headers={"Authorization": f"Basic {basic}"}).status_code,
        "tus": client.post(
            "/api/v1/uploads",
            headers={**user.headers, "Tus-Resumable": "1.0.0", "Upload-Length": "1"},
        ).status_code,
    }


def _refuse(runtime: Runtime, user: UserFixture, how: str) -> None:
    with transaction(runtime.sessions) as session:
        if how == "disabled":
            accounts.set_disabled(
                session, Actor.system(label="tests"), user_id=user.id, disabled=True, clock=runtime.clock
            )
        elif how == "revoked":
            session.execute(
                update(AccessToken)
                .where(AccessToken.user_id == user.id)
                .values(revoked_at=runtime.clock.now())
            )
        else:
            session.execute(
                update(AccessToken)
                .where(AccessToken.user_id == user.id)
                .values(expires_at=runtime.clock.now() - timedelta(seconds=1))
            )


@pytest.mark.parametrize("how", ["disabled", "revoked", "expired"])
def test_every_door_refuses(client: TestClient, runtime: Runtime, alice: UserFixture, how: str) -> None:
    made = client.put("/api/v1/folders/root/files/exhibit.txt", content=b"evidence", headers=alice.headers)
    assert made.status_code == 201, made.text
    before = _doors(client, alice, made.json()["id"])
    assert (before["download"], before["range"], before["webdav"]) == (200, 206, 200)
    _refuse(runtime, alice, how)
    after = _doors(client, alice, made.json()["id"])
    assert after == dict.fromkeys(after, 401)
