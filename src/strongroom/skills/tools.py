"""Running outside tools (pdftotext, pdftoppm, tesseract, ffmpeg) on hostile bytes, for skills.

The same lock-down as ffmpeg for previews (content/transcoding.py): the preview resource limits set in
the child before exec (address space, CPU, output size, open files, no core dumps), a private temp
dir as the working directory, no stdin, a new process group killed on the wall-clock timeout, a
minimal environment, and no network: a new, empty network namespace (`unshare --net`) where the
machine allows one. ffmpeg is always given its input with a forced demuxer and the `file` protocol
only (transcoding.input_arguments); the other tools read one local file and open nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from strongroom.config import PreviewSettings
from strongroom.content import office, transcoding
from strongroom.content.transcoding import Refused

OPEN_FILES = 256  # tesseract opens its language data; pdftoppm one file per page written


class SkillFailed(Exception):
    """The skill cannot read this file; the reason is shown in the processing log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NothingToRead(SkillFailed):
    """The skill does not apply to this particular file (a scan for the text skill, a PDF with a text
    layer for OCR): the run is done, with no cards and this reason in the log."""


def run_tool(
    command: list[str], *, cwd: Path, limits: PreviewSettings, timeout: float, what: str
) -> bytes | Refused:
    """Run `command` locked down; its standard output, or why it failed (`what` names the step)."""
    if shutil.which(command[0]) is None:
        return Refused(f"{command[0]} is not installed, so {what} cannot run")
    if office.network_namespace_available():
        command = ["unshare", "--net", *command]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd.resolve()),
        "LANG": "C.UTF-8",
        "OMP_THREAD_LIMIT": str(max(limits.threads, 1)),  # tesseract's OpenMP would take every core
    }
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        preexec_fn=transcoding.limits(limits, open_files=OPEN_FILES),  # noqa: PLW1509  # only setrlimit
        start_new_session=True,
        close_fds=True,
        cwd=cwd,
        env=env,
    ) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return Refused(f"{what} took longer than {timeout:g} s and was stopped")
    if process.returncode != 0:
        complaint = err.decode(errors="replace").strip()[-300:]
        return Refused(f"{what} failed: {complaint or f'exit status {process.returncode}'}")
    return out


def must(result: bytes | Refused) -> bytes:
    if isinstance(result, Refused):
        raise SkillFailed(result.reason)
    return result


def ffmpeg(
    *, sniffed: str, source: Path, output: list[str], cwd: Path, limits: PreviewSettings, timeout: float
) -> bytes:
    """Decode `source` (sniffed as `sniffed`) with ffmpeg's output options `output`; its stdout."""
    inputs = transcoding.input_arguments(sniffed, source)
    if isinstance(inputs, Refused):
        raise SkillFailed(inputs.reason)
    threads = str(max(limits.threads, 1))
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-threads", threads]
    return must(
        run_tool([*command, *inputs, *output], cwd=cwd, limits=limits, timeout=timeout, what="ffmpeg")
    )
