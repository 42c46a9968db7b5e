"""1 GiB in 1 MiB writes then fsync, four ways: plain, with an early write-out, with the early
write-out and the written pages dropped behind it, O_DIRECT (issue 14).

    .venv/bin/python bench/fsync_write_out.py plain|early|behind|direct [--step-mib 8] [--files 1]
        [--dir /work/bench-upload]

With --files N, N files are written one after the other and kept until the end, as stored blobs are:
each file's pages then come on top of the last one's in the page cache (or, with `behind`, do not).

Prints the writes' and the fsync's wall time and this process's CPU (user, system): what the blob
writer's `sync_file_range` every --step-mib MiB changes (local_writers.start_writeback).
"""

from __future__ import annotations

import argparse
import ctypes
import mmap
import os
import resource
import time
from pathlib import Path

MIB = 1 << 20
_SYNC_FILE_RANGE_WRITE = 2
_SYNC_FILE_RANGE_WAIT_ALL = 1 | 2 | 4  # wait before, write, wait after


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("plain", "early", "behind", "direct"))
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--step-mib", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=Path("/work/bench-upload"))
    args = parser.parse_args()
    sync_file_range = ctypes.CDLL("libc.so.6", use_errno=True).sync_file_range
    sync_file_range.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    buffer = mmap.mmap(-1, MIB)  # page-aligned, as O_DIRECT needs
    buffer.write(os.urandom(MIB))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if args.mode == "direct" else 0)
    paths = [args.dir / f"write-out-{n}.bin" for n in range(args.files)]
    for path in paths:
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        fd = os.open(path, flags, 0o600)
        written = flushed = 0
        for _ in range(1024):
            written += os.write(fd, buffer)
            if args.mode in ("early", "behind") and written - flushed >= args.step_mib * MIB:
                sync_file_range(fd, flushed, written - flushed, _SYNC_FILE_RANGE_WRITE)
                if args.mode == "behind" and flushed:
                    window = args.step_mib * MIB
                    sync_file_range(fd, flushed - window, window, _SYNC_FILE_RANGE_WAIT_ALL)
                    os.posix_fadvise(fd, flushed - window, window, os.POSIX_FADV_DONTNEED)
                flushed = written
        wrote = time.monotonic()
        os.fsync(fd)
        os.close(fd)
        synced, after = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        print(
            f"{args.mode} (step {args.step_mib} MiB) {path.name}: writes {wrote - start:.2f} s, "
            f"fsync {synced - wrote:.2f} s, CPU user {after.ru_utime - before.ru_utime:.2f} s, "
            f"system {after.ru_stime - before.ru_stime:.2f} s"
        )
    for path in paths:
        path.unlink()


if __name__ == "__main__":
    main()
