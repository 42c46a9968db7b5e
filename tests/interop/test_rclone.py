"""rclone (the Debian package) against /dav/: copy a tree up, sync changes, check, copy back down."""

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop


def rclone(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("rclone") is None:
        pytest.fail("rclone is not installed: apt-get install -y rclone")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    return subprocess.run(
        ["rclone", "--config", "/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def remote(live_server: LiveServer, user: UserFixture) -> str:
    obscured = rclone("obscure", user.token).stdout.strip()
    return f":webdav,url='{live_server.url}/dav/',vendor=other,user='{user.email}',pass='{obscured}':"


def write_tree(root: Path) -> None:
    (root / "case-17" / "cctv").mkdir(parents=True)
    (root / "case-17" / "statement.txt").write_text("Witness statement, 3 pages.\n")
    (root / "case-17" / "cctv" / "cam1.bin").write_bytes(os.urandom(2_500_000))
    (root / "case-17" / "cctv" / "cam2.bin").write_bytes(os.urandom(70_000))
    (root / "notes é ünïcode.txt").write_text("naïve café\n")
    (root / "empty.txt").write_bytes(b"")


def test_copy_sync_check_and_copy_back(tmp_path: Path, live_server: LiveServer, alice: UserFixture) -> None:
    local = tmp_path / "local"
    local.mkdir()
    write_tree(local)
    target = remote(live_server, alice) + "upload"

    up = rclone("copy", str(local), target)
    assert up.returncode == 0, up.stderr
    check = rclone("check", "--download", str(local), target)
    assert check.returncode == 0, check.stderr

    # Change the tree: add, modify, delete; then sync. (vendor=other has no settable modtime, so rclone
    # syncs by size: a changed file is one of another size.)
    (local / "case-17" / "added.txt").write_text("added later\n")
    (local / "case-17" / "cctv" / "cam2.bin").write_bytes(os.urandom(71_000))
    (local / "empty.txt").unlink()
    assert rclone("check", "--download", str(local), target).returncode != 0
    sync = rclone("sync", str(local), target)
    assert sync.returncode == 0, sync.stderr
    check = rclone("check", "--download", str(local), target)
    assert check.returncode == 0, check.stderr

    listing = rclone("lsf", "-R", target)
    assert "empty.txt" not in listing.stdout.split()
    assert "case-17/added.txt" in listing.stdout.split()

    back = tmp_path / "back"
    down = rclone("copy", target, str(back))
    assert down.returncode == 0, down.stderr
    comparison = filecmp.dircmp(local, back)
    assert not comparison.left_only
    assert not comparison.right_only
    for path in local.rglob("*"):
        if path.is_file():
            assert (back / path.relative_to(local)).read_bytes() == path.read_bytes(), path
