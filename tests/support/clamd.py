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


@pytest.fixture
def clamd(tmp_path: Path) -> Iterator[Clamd]:
    binary = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
    if binary is None:
        pytest.fail(f"clamd is not installed; install it with: {INSTALL}")
    data = eicar()
    assert hashlib.md5(data).hexdigest() == "44d88612fea8a8f36de82e1278abb02f"
    db = tmp_path / "clamdb"
    db.mkdir()
    (db / "strongroom.hdb").write_text(f"{hashlib.md5(data).hexdigest()}:{len(data)}:Strongroom.Test.EICAR\n")
    (db / "strongroom.ndb").write_text(f"Strongroom.Test.EICAR-Body:0:*:{data.hex()}\n")
    port = free_port()
    sock = tmp_path / "clamd.sock"
    conf = tmp_path / "clamd.conf"
    conf.write_text(
        f"DatabaseDirectory {db}\nLocalSocket {sock}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n"
        f"LogFile {tmp_path / 'clamd.log'}\nPidFile {tmp_path / 'clamd.pid'}\nStreamMaxLength 100M\n"
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not _ping(port):
            if process.poll() is not None:
                log = (tmp_path / "clamd.log").read_text() if (tmp_path / "clamd.log").exists() else ""
                pytest.fail(f"clamd exited at start: {log[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("clamd did not answer PING within 60 s")
            time.sleep(0.05)
        yield Clamd(address=f"127.0.0.1:{port}", socket_path=sock)
    finally:
        process.terminate()
        process.wait(timeout=10)
