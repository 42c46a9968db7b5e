"""The local blob store's durability order, and its partial writes under the orphan collector."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from strongroom.storage.blob_backends.local import LocalBlobStore


def test_a_new_blob_directory_is_fsynced_before_a_blob_is_renamed_into_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", str(Path(f"/proc/self/fd/{fd}").readlink())))
        real_fsync(fd)

    def replace(self: Path, target: Path) -> Path:
        events.append(("rename", str(Path(target).resolve().parent)))
        return real_replace(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    key = "ab" * 16
    writer = store.create(key)
    writer.write(b"sealed bytes")
    writer.complete()

    leaf = str((tmp_path / "blobs" / "ab" / "ab").resolve())
    rename_at = events.index(("rename", leaf))
    before = events[:rename_at]
    assert ("fsync", leaf) in before, "the new directory itself was not made durable first"
    assert ("fsync", str(Path(leaf).parent)) in before, "its entry in the parent was not made durable"
    assert ("fsync", leaf) in events[rename_at:], "the blob's own entry was not made durable"


def test_purge_never_removes_a_live_writers_partial_whatever_the_cutoff(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    live = store.create("cd" * 16)
    live.write(b"still streaming")
    # A cut-off in the future: every partial is "older" than it (gc --grace-minutes 0 and a clock skew).
    assert store.purge_partials(older_than=datetime.now(UTC) + timedelta(minutes=5)) == 0
    live.write(b" and more")
    live.complete()
    assert store.read("cd" * 16, offset=0, length=100) == b"still streaming and more"


def test_purge_removes_a_partial_whose_writer_is_gone(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    abandoned = tmp_path / "blobs" / ".partial" / f"{'ef' * 16}.0123456789abcdef"
    abandoned.write_bytes(b"left by a crash")  # no process holds it
    assert store.purge_partials(older_than=datetime.now(UTC) + timedelta(minutes=5)) == 1
    assert not abandoned.exists()
