"""`strongroom serve` with `[server] engine = "granian"`: the same app, the same bytes, on every door."""

from __future__ import annotations

import base64
import hashlib
import os

import httpx

from strongroom.config import Settings
from tests.cli.test_serve_edges import EMAIL, start
from tests.cli.test_server_cli import run_cli, stop

GRANIAN = {"STRONGROOM_SERVER__ENGINE": "granian"}


def test_uploads_and_downloads_on_granian_are_byte_exact_through_rest_tus_and_webdav(
    settings: Settings,
) -> None:
    token = run_cli(settings, "users", "create", EMAIL, "--token").stdout.strip()
    proc, url = start(settings, extra_env=GRANIAN)
    try:
        body = os.urandom(3 * 64 * 1024 + 123)  # several segments (the CLI env's 64 KiB) and a tail
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=auth, timeout=60) as http:
            put = http.put("/api/v1/folders/root/files/rest.bin", content=body)
            assert put.status_code in (200, 201), put.text
            file_id = put.json()["id"]
            whole = http.get(f"/api/v1/files/{file_id}/content")
            assert whole.content == body
            part = http.get(f"/api/v1/files/{file_id}/content", headers={"Range": "bytes=70000-70999"})
            assert part.status_code == 206
            assert part.content == body[70000:71000]

            created = http.post(
                "/api/v1/uploads",
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Length": str(len(body)),
                    "Upload-Metadata": "filename " + base64.b64encode(b"tus.bin").decode(),
                },
            )
            assert created.status_code == 201, created.text
            patched = http.patch(
                created.headers["Location"],
                content=body,
                headers={
                    "Tus-Resumable": "1.0.0",
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert patched.status_code == 204, patched.text
            assert patched.headers["Upload-Offset"] == str(len(body))

            dav = httpx.Client(base_url=url, auth=("", token), timeout=60)
            assert dav.put("/dav/dav.bin", content=body).status_code in (201, 204)
            for name in ("tus.bin", "dav.bin"):
                got = dav.get(f"/dav/{name}")
                assert got.status_code == 200
                assert hashlib.sha256(got.content).digest() == hashlib.sha256(body).digest()
            dav.close()
    finally:
        stop(proc)
