"""A bus garage uploads CCTV through an upload request without an account; a real clamd scans it.

Needs clamd: apt-get install -y --no-install-recommends clamav-daemon clamav
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.config import Settings
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from strongroom.skills import virus_scan
from tests.support.clamd import Clamd, clamd, eicar  # noqa: F401 - fixture
from tests.support.live import LiveServer
from tests.support.smtp import MailSink, smtp  # noqa: F401 - fixture
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop

GARAGE = "cctv@northgate-buses.test"


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp: MailSink, clamd: Clamd) -> Settings:  # noqa: F811
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        limits={"segment_bytes": 64 * 1024, "max_upload_bytes": 64 * 1024 * 1024},  # type: ignore[arg-type]
        mail={"host": smtp.host, "port": smtp.port},  # type: ignore[arg-type]
        scan={"clamd": clamd.address},  # type: ignore[arg-type]
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings)
    yield rt
    rt.close()


def test_clamd_verdicts_over_tcp_and_unix_socket(clamd: Clamd) -> None:  # noqa: F811
    for address in (clamd.address, str(clamd.socket_path)):
        settings = Settings(dev_mode=True, scan={"clamd": address}).scan  # type: ignore[arg-type]
        assert virus_scan.requirements(settings) == []
        assert virus_scan.scan_chunks(settings, [os.urandom(5000) + eicar() + os.urandom(10)]).clean is False
        assert virus_scan.scan_chunks(settings, [os.urandom(200_000)]).clean is True


def test_garage_uploads_through_an_upload_request_and_eicar_is_quarantined(
    runtime: Runtime,
    live_server: LiveServer,
    alice: UserFixture,
    smtp: MailSink,  # noqa: F811
) -> None:
    cctv = os.urandom(1_200_000)
    virus = eicar()
    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        folder = api.post(
            "/api/v1/folders", json={"parent_id": "root", "name": "Op Northgate CCTV"}, headers=alice.headers
        ).json()
        created = api.post(
            f"/api/v1/folders/{folder['id']}/upload-requests",
            json={
                "title": "CCTV for incident 44/1123",
                "instructions": "Export cameras 3 and 4, 14:00-15:00.",
                "max_bytes": 2_000_000,
            },
            headers=alice.headers,
        )
        assert created.status_code == 201, created.text
        token = created.json()["url"].rsplit("/r/", 1)[1]

    with httpx.Client(base_url=f"{live_server.url}/r/{token}", timeout=30) as garage:
        form_page = garage.get(f"{live_server.url}/r/{token}")
        assert form_page.status_code == 200
        assert "CCTV for incident 44/1123" in form_page.text
        assert form_page.headers["Referrer-Policy"] == "no-referrer"
        missing = garage.post("/api/submissions", json={"form": {"email": GARAGE}})
        assert missing.status_code == 400  # "Your name" is required
        sub = garage.post(
            "/api/submissions",
            json={
                "form": {
                    "name": "Sam Driver",
                    "email": GARAGE,
                    "organisation": "Northgate Buses",
                    "reference": "44/1123",
                }
            },
        ).json()
        base = f"/api/submissions/{sub['id']}/files"
        assert garage.post(base, json={"name": "too big.mp4", "size": 2_000_001}).status_code == 413
        video = garage.post(base, json={"name": "camera 3.mp4", "size": len(cctv)}).json()
        eicar_file = garage.post(base, json={"name": "camera 4.mp4", "size": len(virus)}).json()
        # Resumable: chunks at offsets; a wrong offset is told where the file stands.
        for start in range(0, len(cctv), 400_000):
            r = garage.patch(
                f"{base}/{video['id']}",
                content=cctv[start : start + 400_000],
                headers={"Upload-Offset": str(start)},
            )
            assert r.status_code == 200, r.text
            if start == 0:
                stale = garage.patch(
                    f"{base}/{video['id']}", content=b"x" * 10, headers={"Upload-Offset": "0"}
                )
                assert stale.status_code == 409
                assert stale.json()["details"]["offset"] == 400_000
        assert garage.get(f"{base}/{video['id']}").json() == {"offset": len(cctv), "size": len(cctv)}
        # More bytes than declared in one chunk are refused: the cap holds whatever the chunking.
        over = garage.patch(
            f"{base}/{eicar_file['id']}", content=virus + b"padding", headers={"Upload-Offset": "0"}
        )
        assert over.status_code == 413
        assert (
            garage.patch(
                f"{base}/{eicar_file['id']}", content=virus, headers={"Upload-Offset": "0"}
            ).status_code
            == 200
        )
        done = garage.post(f"/api/submissions/{sub['id']}/complete")
        assert done.status_code == 200, done.text
        receipt = done.json()
        receipt_page = garage.get(f"/receipt/{receipt['reference']}")
        assert receipt_page.status_code == 200

    expected = {
        "camera 3.mp4": (len(cctv), hashlib.sha256(cctv).hexdigest()),
        "camera 4.mp4": (len(virus), hashlib.sha256(virus).hexdigest()),
    }
    assert {f["name"]: (f["size"], f["sha256"]) for f in receipt["files"]} == expected
    assert receipt["reference"] == sub["reference"]
    for _, digest in expected.values():
        assert digest in receipt_page.text
    mailed = smtp.body(smtp.wait_for(GARAGE)[0])
    assert receipt["reference"] in mailed
    for name, (size, digest) in expected.items():
        assert name in mailed
        assert str(size) in mailed
        assert digest in mailed
    assert receipt["reference"] in smtp.body(smtp.wait_for(alice.email)[0])  # the owner is told

    with httpx.Client(base_url=live_server.url, timeout=30) as api:
        listing = api.get(f"/api/v1/folders/{folder['id']}/items", headers=alice.headers).json()["items"]
        assert [i["name"] for i in listing] == [
            f"{receipt['received_at'][:10]} {receipt['reference']} Northgate Buses"
        ]
        files = {
            i["name"]: i["id"]
            for i in api.get(f"/api/v1/folders/{listing[0]['id']}/items", headers=alice.headers).json()[
                "items"
            ]
        }
        # Unscanned bytes from outside are never served.
        assert (
            api.get(f"/api/v1/files/{files['camera 3.mp4']}/content", headers=alice.headers).status_code
            == 404
        )
        Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
        clean = api.get(f"/api/v1/files/{files['camera 3.mp4']}/content", headers=alice.headers)
        assert clean.status_code == 200
        assert hashlib.sha256(clean.content).hexdigest() == expected["camera 3.mp4"][1]
        # EICAR is quarantined: never served, by any route.
        assert (
            api.get(f"/api/v1/files/{files['camera 4.mp4']}/content", headers=alice.headers).status_code
            == 404
        )
        assert (
            api.get(f"/api/v1/files/{files['camera 4.mp4']}/preview", headers=alice.headers).status_code
            == 404
        )
        events = api.get(
            "/api/v1/audit/events",
            params={"action": "skills.scan.infected", "reason": "Check the scan was recorded"},
            headers=alice.headers,
        )
    with runtime.sessions() as session:
        from sqlalchemy import select

        from strongroom.content.models import FileVersion

        statuses = dict(session.execute(select(FileVersion.file_id, FileVersion.scan_status)).all())
    assert statuses[files["camera 3.mp4"]] == "clean"
    assert statuses[files["camera 4.mp4"]] == "infected"
    assert events.status_code in {200, 403, 404}
