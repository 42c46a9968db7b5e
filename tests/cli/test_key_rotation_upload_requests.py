"""A key rotation that retires the old key must not break a garage's upload that is half-way through."""

import hashlib
import os
from datetime import timedelta

from fastapi.testclient import TestClient

from strongroom.content import maintenance
from strongroom.runtime import Runtime
from strongroom.sharing import models as sharing_models
from tests.support.users import UserFixture


def test_rotation_rewraps_chunks_of_unfinished_upload_request_files(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    folder = client.post(
        "/api/v1/folders", json={"parent_id": "root", "name": "CCTV"}, headers=alice.headers
    ).json()
    created = client.post(
        f"/api/v1/folders/{folder['id']}/upload-requests", json={"title": "Bus CCTV"}, headers=alice.headers
    )
    assert created.status_code == 201, created.text
    token = created.json()["url"].rsplit("/r/", 1)[1]
    data = os.urandom(300_000)
    form = {"name": "Sam Driver", "email": "sam@buses.example", "organisation": "Northgate Buses"}
    sub = client.post(f"/r/{token}/api/submissions", json={"form": form})
    assert sub.status_code in {200, 201}, sub.text
    base = f"/r/{token}/api/submissions/{sub.json()['id']}/files"
    video = client.post(base, json={"name": "camera 3.mp4", "size": len(data)}).json()
    first = client.patch(f"{base}/{video['id']}", content=data[:100_000], headers={"Upload-Offset": "0"})
    assert first.status_code == 200, first.text

    maintenance.rotate_keys(
        runtime.sessions,
        runtime.keys,
        clock=runtime.clock,
        retire_old=True,
        grace=timedelta(0),
        more_holders=[sharing_models.SubmissionChunk],
    )
    assert len(runtime.keys.kek_ids()) == 1

    rest = client.patch(f"{base}/{video['id']}", content=data[100_000:], headers={"Upload-Offset": "100000"})
    assert rest.status_code == 200, rest.text
    done = client.post(f"/r/{token}/api/submissions/{sub.json()['id']}/complete")
    assert done.status_code == 200, done.text
    files = {f["name"]: f for f in done.json()["files"]}
    assert files["camera 3.mp4"]["sha256"] == hashlib.sha256(data).hexdigest()
