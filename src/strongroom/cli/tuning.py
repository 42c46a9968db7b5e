"""Process tuning for the streaming server, applied before it allocates."""

import ctypes
import ctypes.util
import gc

# glibc mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_malloc() -> bool:
    """Keep freed segment buffers in the heap instead of trimming them back to the OS after every
    segment: the allocation churn otherwise halves streaming throughput (PERFORMANCE.md). The
    environment variables MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ do the same but are read only
    at process start. Returns whether glibc accepted the settings (False on other C libraries)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, 128 << 20)) and bool(mallopt(_M_MMAP_THRESHOLD, 16 << 20))


def freeze_startup_objects() -> None:
    """Move everything allocated while importing and starting up into the permanent generation, so the
    garbage collector's full passes no longer walk it: those passes otherwise stall requests for tens of
    milliseconds at random."""
    gc.collect()
    gc.freeze()
