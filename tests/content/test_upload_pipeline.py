"""The upload hot path in the event loop: one copy in the loop, one pool job per segment, in order."""

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

from strongroom.content.uploads import receive_stream
from strongroom.errors import TooLarge
from strongroom.storage.blob_backends.local import LocalBlobStore
from strongroom.storage.key_providers.file import FileKeyProvider
from strongroom.storage.sealed_blobs import read_plaintext

SEG = 64 * 1024
T = TypeVar("T")


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the jobs handed to it (each is a thread hop)."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.jobs = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Any:
        self.jobs += 1
        return super().submit(fn, *args, **kwargs)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def run_upload(tmp_path: Path, data: bytes, *, chunk: int, max_bytes: int) -> tuple[Any, CountingExecutor]:
    store = LocalBlobStore(tmp_path / "blobs")
    keys = FileKeyProvider.open(tmp_path / "keys.json")
    executor = CountingExecutor()

    async def main() -> Any:
        asyncio.get_running_loop().set_default_executor(executor)
        return await receive_stream(
            chunks_of(data, chunk),
            store=store,
            keys=keys,
            version_id="ver_pipeline",
            segment_bytes=SEG,
            max_bytes=max_bytes,
        )

    try:
        sealed = asyncio.run(main())
    finally:
        executor.shutdown()
    plain = b"".join(
        read_plaintext(
            store=store,
            keys=keys,
            blob_key=sealed.blob_key,
            wrapped_dek=sealed.wrapped_dek,
            aad_id=b"ver_pipeline",
            plaintext_size=sealed.size,
        )
    )
    assert plain == data
    return sealed, executor


@pytest.mark.parametrize("chunk", [1000, SEG, SEG + 1, 3 * SEG + 17])
def test_a_stream_is_hashed_in_order_whatever_the_chunking(tmp_path: Path, chunk: int) -> None:
    data = os.urandom(20 * SEG + 123)
    sealed, _ = run_upload(tmp_path, data, chunk=chunk, max_bytes=len(data))
    assert sealed.sha256 == hashlib.sha256(data).digest()
    assert sealed.size == len(data)


def test_the_loop_does_not_hop_to_a_thread_per_segment(tmp_path: Path) -> None:
    """Segments go to the writer's own pool (one job each); the loop's executor only finishes."""
    data = os.urandom(32 * SEG)
    _, executor = run_upload(tmp_path, data, chunk=16 * 1024, max_bytes=len(data))
    assert executor.jobs <= 2


def test_a_too_large_stream_leaves_no_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    keys = FileKeyProvider.open(tmp_path / "keys.json")
    data = os.urandom(10 * SEG)

    async def main() -> None:
        await receive_stream(
            chunks_of(data, 5000),
            store=store,
            keys=keys,
            version_id="ver_big",
            segment_bytes=SEG,
            max_bytes=5 * SEG,
        )

    with pytest.raises(TooLarge):
        asyncio.run(main())
    leftovers = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []
