"""What of a file is in the page cache: for the tests of the stores' page cache policy."""

import ctypes
import mmap
import os
import subprocess
from pathlib import Path


def cached_bytes(path: Path) -> int:
    """How many of the file's bytes are in the page cache now (mincore(2) on a map of it)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert address not in (None, ctypes.c_void_p(-1).value)
        pages = -(-size // mmap.PAGESIZE)
        residency = ctypes.create_string_buffer(pages)
        try:
            assert libc.mincore(address, size, residency) == 0
        finally:
            libc.munmap(address, size)
    finally:
        os.close(fd)
    return sum(b & 1 for b in residency.raw) * mmap.PAGESIZE


def file_system_type(path: Path) -> str:
    return subprocess.run(
        ["stat", "-f", "-c", "%T", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()


def evict(path: Path) -> None:
    """Let the file's pages leave the page cache, as if it had not been read for a long time."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
