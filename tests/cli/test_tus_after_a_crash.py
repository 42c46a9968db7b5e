"""A tus upload whose server was killed mid-PATCH resumes on the restarted server at once."""

import base64
import hashlib
import os
import socket
import time

import httpx
import pytest
from sqlalchemy import create_engine, select

from strongroom.config import Settings
from strongroom.content.models import TusUpload
from tests.cli.test_server_cli import run_cli, start_server, stop

SEG = 64 * 1024  # cli_env's segment size


@pytest.fixture
def token(settings: Settings) -> str:
    return run_cli(settings, "users", "create", "officer@force.police.test", "--token").stdout.strip()


def _leased(settings: Settings, upload_id: str) -> bool:
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            query = select(TusUpload.lease_until).where(TusUpload.id == upload_id)
            return connection.execute(query).scalar() is not None
    finally:
        engine.dispose()


def test_a_resume_right_after_a_restart_takes_over_the_dead_servers_lease(
    settings: Settings, token: str
) -> None:
    data = os.urandom(6 * SEG + 99)
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    proc, url = start_server(settings)
    try:
        created = httpx.post(
            f"{url}/api/v1/uploads",
            headers={
                **auth,
                "Upload-Length": str(len(data)),
                "Upload-Metadata": f"filename {base64.b64encode(b'bodycam.mp4').decode()}",
            },
        )
        assert created.status_code == 201, created.text
        path = created.headers["Location"]
        upload_id = path.rsplit("/", 1)[1]
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(
                (
                    f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    "Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
                    f"Upload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
                ).encode()
                + data[: 3 * SEG]
            )
            deadline = time.monotonic() + 120
            while not _leased(settings, upload_id) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _leased(settings, upload_id), "the server should be writing the upload"
            stop(proc, kill=True)  # the server dies holding the lease
    finally:
        stop(proc, kill=True)

    proc, url = start_server(settings)
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=60) as http:
            offset = int(http.head(path).headers["Upload-Offset"])
            response = http.patch(
                path,
                content=data[offset:],
                headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)},
            )
            assert response.status_code == 204, response.text
            file_url = response.headers["Location"]
            assert http.get(file_url).json()["sha256"] == hashlib.sha256(data).hexdigest()
            assert http.get(f"{file_url}/content").content == data
    finally:
        stop(proc)
