"""A real clamd (ClamAV) on a free loopback port, with a tiny offline signature database (COMPONENTS.md §6).

The EICAR test string is assembled at run time and never stored in the repository: scanners flag it.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.live import free_port

INSTALL = "apt-get install -y --no-install-recommends clamav-daemon clamav"


def eicar() -> bytes:
    # Split so that this source file itself is not a test virus.
    return b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass
class Clamd:
    address: str  # host:port
    socket_path: Path


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(16).rstrip(b"\0") == b"PONG"
    except OSError:
        return False


@dataclass
class ClamdProcess:
    """A clamd this test started; `stop()` takes it down (a scanner outage), `start_clamd` brings one back."""

    address: str
    socket_path: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_clamd(directory: Path, *, port: int | None = None, stream_max: str = "100M") -> ClamdProcess:
    """Start clamd with the EICAR signatures in `directory`, on `port` (default: a free one)."""
    binary = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
    if binary is None:
        pytest.fail(f"clamd is not installed; install it with: {INSTALL}")
    data = eicar()
    assert hashlib.md5(data).hexdigest() == "44d88612fea8a8f36de82e1278abb02f"
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "clamdb"
    db.mkdir(exist_ok=True)
    (db / "strongroom.hdb").write_text(f"{hashlib.md5(data).hexdigest()}:{len(data)}:Strongroom.Test.EICAR\n")
    (db / "strongroom.ndb").write_text(f"Strongroom.Test.EICAR-Body:0:*:{data.hex()}\n")
    port = port or free_port()
    sock = directory / "clamd.sock"
    conf = directory / "clamd.conf"
    log = directory / "clamd.log"
    conf.write_text(
        f"DatabaseDirectory {db}\nLocalSocket {sock}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n"
        f"LogFile {log}\nPidFile {directory / 'clamd.pid'}\nStreamMaxLength {stream_max}\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not _ping(port):
        if process.poll() is not None:
            pytest.fail(f"clamd exited at start: {log.read_text()[-2000:] if log.exists() else ''}")
        if time.monotonic() > deadline:
            process.terminate()
            pytest.fail("clamd did not answer PING within 120 s")
        time.sleep(0.05)
    return ClamdProcess(address=f"127.0.0.1:{port}", socket_path=sock, process=process)


@pytest.fixture
def clamd(tmp_path: Path) -> Iterator[Clamd]:
    started = start_clamd(tmp_path / "clamd")
    try:
        yield Clamd(address=started.address, socket_path=started.socket_path)
    finally:
        started.stop()
