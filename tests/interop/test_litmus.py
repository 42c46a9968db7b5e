"""litmus, the WebDAV protocol test suite, against /dav/: every suite must pass with no failures."""

import re
import shutil
import subprocess

import pytest

from tests.support.live import LiveServer
from tests.support.users import UserFixture

pytestmark = pytest.mark.interop

SUITES = ("basic", "copymove", "props", "locks", "http")
SUMMARY = re.compile(r"<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed")


def run_litmus(url: str, user: str, token: str) -> str:
    if shutil.which("litmus") is None:
        pytest.fail("litmus is not installed: apt-get install -y litmus")
    result = subprocess.run(
        ["litmus", "-k", url, user, token],
        env={"TESTS": " ".join(SUITES), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return result.stdout + result.stderr


def test_litmus_suites_all_pass(live_server: LiveServer, alice: UserFixture) -> None:
    output = run_litmus(f"{live_server.url}/dav/", alice.email, alice.token)
    summaries = {m.group(1): (int(m.group(2)), int(m.group(4))) for m in SUMMARY.finditer(output)}
    failing = [line for line in output.replace("\r", "\n").splitlines() if "FAIL" in line]
    assert set(summaries) == set(SUITES), output
    assert all(failed == 0 for _, failed in summaries.values()), "\n".join(failing) + "\n" + output
    assert all(run > 0 for run, _ in summaries.values())


def test_litmus_is_refused_without_a_valid_token(live_server: LiveServer, alice: UserFixture) -> None:
    output = run_litmus(f"{live_server.url}/dav/", alice.email, "srpat_not-a-real-token")
    summaries = {m.group(1): int(m.group(4)) for m in SUMMARY.finditer(output)}
    assert "basic" not in summaries or summaries["basic"] > 0, output
