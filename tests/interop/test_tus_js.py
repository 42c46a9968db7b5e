"""tus-js-client (the reference JavaScript client) under Node: interrupted, resumed, byte-identical."""

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop

SCRIPT = Path(__file__).with_name("tus_js_upload.mjs")
ROOT = Path(__file__).parents[2]


def run_node(*args: str) -> dict[str, object]:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: apt-get install -y nodejs")
    if not (ROOT / "node_modules" / "tus-js-client").is_dir():
        pytest.fail(f"tus-js-client is not installed: npm install --prefix {ROOT} tus-js-client")
    result = subprocess.run(
        ["node", str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def test_tus_js_client_interrupted_and_resumed(
    live_server: LiveServer, alice: UserFixture, tmp_path: Path
) -> None:
    source = tmp_path / "bodycam.mp4"
    # An MP4 file-type box first: the server records the type the bytes show, not the name's claim.
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(4 * 1024 * 1024 + 333)
    source.write_bytes(data)
    endpoint = f"{live_server.url}/api/v1/uploads"

    first = run_node(endpoint, alice.token, str(source), "1500000", "-", "600000")
    url = str(first["url"])
    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=30) as http:
        head = http.head(url, headers={"Tus-Resumable": "1.0.0"})
        offset = int(head.headers["Upload-Offset"])
        assert 0 < offset < len(data)

        done = run_node(endpoint, alice.token, str(source), "-", url, "1000000")
        assert done == {"url": url, "offset": len(data)}

        plain = http.put("/api/v1/folders/root/files/plain.mp4", content=data)
        assert plain.status_code == 201
        items = {i["name"]: i for i in http.get("/api/v1/folders/root/items").json()["items"]}
        assert items["bodycam.mp4"]["sha256"] == plain.json()["sha256"] == hashlib.sha256(data).hexdigest()
        assert items["bodycam.mp4"]["content_type"] == "video/mp4"
        assert http.get(f"/api/v1/files/{items['bodycam.mp4']['id']}/content").content == data
