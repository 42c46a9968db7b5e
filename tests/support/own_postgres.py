"""A PostgreSQL instance of a test's own (initdb + pg_ctl on a free port), for outage tests.

Never restart the shared cluster at 5432: other tests (and other people) use it. This one lives in a
temporary directory, belongs to the `postgres` user (initdb refuses root) and is removed afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.live import free_port

BIN = Path("/usr/lib/postgresql/15/bin")


def available() -> bool:
    return (BIN / "pg_ctl").exists() and shutil.which("runuser") is not None


@dataclass
class OwnPostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        command = [str(BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-l", str(self.directory / "log")]
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command, *args], check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-w", "-t", "120", "-o", options, "start")

    def stop(self) -> None:
        self._pg_ctl("-w", "-t", "120", "-m", "immediate", "stop")

    def restart_immediately(self) -> None:
        """A crash-restart: every connection is cut, then the server recovers and accepts again."""
        options = f"-p {self.port} -k {self.directory / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-w", "-t", "120", "-m", "immediate", "-o", options, "restart")

    def remove(self) -> None:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(BIN / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.directory, ignore_errors=True)


def start_own_postgres() -> OwnPostgres:
    # Not pytest's tmp_path: its parents are 0700 root, and the server runs as `postgres`.
    directory = Path(tempfile.mkdtemp(prefix="strongroom-own-pg-"))
    (directory / "sock").mkdir()
    directory.chmod(0o755)
    shutil.chown(directory, "postgres", "postgres")
    shutil.chown(directory / "sock", "postgres", "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(BIN / "initdb"),
            "-D",
            str(directory / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = OwnPostgres(directory=directory, port=free_port())
    server.start()
    return server
