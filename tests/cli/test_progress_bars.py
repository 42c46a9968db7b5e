"""The long operator commands show how far they are: a bar on standard error for verify, gc, keys
rotate, audit export and audit verify, ending at the amount of work done. Standard output keeps only
the result (an export written to '-' is not mixed with a bar)."""

import os
import re
from pathlib import Path

import httpx

from strongroom.config import Settings
from tests.cli.test_server_cli import blob_files, run_cli, start_server, stop, token  # noqa: F401  # fixture

FILES = 3


def _done(stderr: str, label: str, amount: str) -> None:
    """The bar's last state names the work and shows it complete."""
    lines = [line for line in stderr.splitlines() if label in line]
    assert lines, stderr
    assert re.search(rf"{re.escape(label)}.*━.*\b{amount}\b", lines[-1]), lines[-1]


def test_every_long_command_shows_a_bar_that_ends_complete(
    settings: Settings,
    token: str,  # noqa: F811  # the fixture
    tmp_path: Path,
) -> None:
    proc, url = start_server(settings)
    try:
        for n in range(FILES):
            put = httpx.put(
                f"{url}/api/v1/folders/root/files/clip-{n}.mp4",
                content=os.urandom(50_000),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert put.status_code in {200, 201}, put.text
    finally:
        stop(proc)

    verify = run_cli(settings, "verify")
    _done(verify.stderr, "Checking stored files", f"{FILES}/{FILES}")
    assert verify.stdout.strip() == f"checked {FILES} versions and 0 renditions, 0 failed"

    rotate = run_cli(settings, "keys", "rotate", "--keep-old")
    _done(rotate.stderr, "Re-wrapping data keys", f"{FILES}/{FILES}")

    (Path(blob_files(settings)[0]).parent / "orphan-blob").write_bytes(b"left by a crash")
    gc = run_cli(settings, "gc", "--grace-minutes", "0")
    assert "Removing unused stored data" in gc.stderr

    out = tmp_path / "trail.jsonl"
    export = run_cli(settings, "audit", "export", "--out", str(out), "--reason", "Quarterly review")
    lines = len(out.read_text(encoding="utf-8").splitlines())
    _done(export.stderr, "Exporting the audit trail", f"{lines}/{lines}")
    to_stdout = run_cli(settings, "audit", "export", "--out", "-", "--reason", "Quarterly review")
    assert to_stdout.stdout.startswith('{"$type":"header"')
    assert "━" not in to_stdout.stdout

    checked = run_cli(settings, "audit", "verify", str(out), check=False)
    read = re.search(r"Checking the export.*?([\d.]+)/([\d.]+) kB", checked.stderr)
    assert read, checked.stderr
    assert read.group(1) == read.group(2)  # every byte of the file was read
