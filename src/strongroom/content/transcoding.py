"""Running ffmpeg on hostile bytes: the one locked-down step that decodes uploaded media.

What ffmpeg is allowed (ARCHITECTURE.md, "Uploaded bytes are hostile"):

* one input, the plaintext file in a private temp dir, opened as `file:<path>`;
* the demuxer is forced (`-f`) from the type sniffed from the bytes (media_types.DEMUXERS), so
  ffmpeg never probes: an HLS playlist, a concat list or an SDP file named `clip.mp4` is refused
  before ffmpeg starts, and if one slipped through it would be parsed as MP4 and fail;
* `-protocol_whitelist file`: no http, tcp, udp, pipe, concat, subfile, data or crypto URL can be
  opened, by the input or anything nested in it (ffmpeg copies the whitelist to nested opens);
* QuickTime external data references (`dref`) are off, so an MP4 cannot point at another file;
* resource limits set in the child before exec (RLIMIT_AS, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE,
  no core dumps), a thread cap, and a wall-clock timeout after which the process group is killed.

`-safe 1` is a concat-demuxer option; concat is never chosen, so there is nothing for it to guard.
"""

import resource
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from strongroom.config import PreviewSettings
from strongroom.content import media_types

OPEN_FILES = 64  # ffmpeg needs its input, its output, a few libraries and pipes


@dataclass(frozen=True)
class Refused:
    """ffmpeg was not run, or failed: the reason shown as "no preview"."""

    reason: str


def limits(settings: PreviewSettings, *, open_files: int = OPEN_FILES) -> Callable[[], None]:
    """What the child sets before exec: the preview limits (LibreOffice, office.py, runs under them too)."""
    values = (
        (resource.RLIMIT_AS, settings.memory_bytes),
        (resource.RLIMIT_CPU, settings.cpu_seconds),
        (resource.RLIMIT_FSIZE, settings.max_output_bytes),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_CORE, 0),
    )

    def apply() -> None:
        # Runs in the forked child before exec: only setrlimit, no allocation-heavy Python.
        for which, limit in values:
            resource.setrlimit(which, (limit, limit))

    return apply


def input_arguments(sniffed: str, source: Path) -> list[str] | Refused:
    """ffmpeg's input options for a file whose bytes were sniffed as `sniffed`, or why not."""
    demuxer = media_types.DEMUXERS.get(sniffed)
    if demuxer is None:
        return Refused(f"The file is {media_types.describe(sniffed)}, not audio, video or an image.")
    arguments = ["-protocol_whitelist", "file", "-f", demuxer]
    if demuxer == "mov":
        arguments += ["-enable_drefs", "0", "-use_absolute_path", "0"]
    return [*arguments, "-i", f"file:{source.resolve()}"]


def run_ffmpeg(
    *,
    sniffed: str,
    source: Path,
    target: Path,
    output_arguments: list[str],
    settings: PreviewSettings,
) -> Refused | None:
    """Decode `source` into `target` under the limits; None on success, else why there is no preview."""
    inputs = input_arguments(sniffed, source)
    if isinstance(inputs, Refused):
        return inputs
    threads = str(max(settings.threads, 1))
    command = [
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-threads",
        threads,
        *inputs,
        *output_arguments,
        "-threads",
        threads,
        f"file:{target.resolve()}",
    ]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=settings.timeout_seconds,
            check=False,
            preexec_fn=limits(settings),
            start_new_session=True,
            close_fds=True,
            stdin=subprocess.DEVNULL,
            cwd=source.parent,
        )
    except subprocess.TimeoutExpired:
        return Refused(f"Making the preview took longer than {settings.timeout_seconds:g} s; it was stopped.")
    if result.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        complaint = result.stderr.decode(errors="replace").strip()[-400:]
        return Refused(f"The file could not be decoded as {sniffed}: {complaint or 'ffmpeg failed'}")
    return None
