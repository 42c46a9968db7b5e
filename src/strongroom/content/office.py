"""Running LibreOffice on hostile documents: Word, Excel, PowerPoint and OpenDocument into a PDF
preview, locked down like ffmpeg (transcoding.py; ARCHITECTURE.md, "Uploaded bytes are hostile").

What LibreOffice is allowed:

* one input, the plaintext in a private temp dir, and an import filter forced (`--infilter`) from the
  format the bytes prove (`document_format`), so LibreOffice never guesses: an HTML page or a
  spreadsheet named `statement.docx` fails as Word instead of being opened as what it is;
* no network: it runs in a new, empty network namespace (`unshare --net`) where the machine allows
  one, and its profile points every proxy at a closed local port and blocks links to untrusted
  places in any case, so a document that links a remote image or an external data source fetches
  nothing;
* no macros (security level "very high", execution disabled) and no link updates;
* its own throwaway profile per conversion (`-env:UserInstallation`), so conversions never share
  state or block one another;
* the same resource limits as ffmpeg (address space, CPU, output size, no core dumps), more open
  files (fonts), and a wall-clock timeout after which its process group is killed.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

from strongroom.config import PreviewSettings
from strongroom.content.transcoding import Refused, limits

OPEN_FILES = 1024  # LibreOffice opens its libraries, fonts and profile files
MAX_DOCUMENT_SECONDS = 300.0  # a document that takes longer than this to lay out is not worth waiting for

# Stored type → (the format the bytes must prove, LibreOffice import filter forced for it).
# The stored type comes from the upload's name or declared type (office formats are containers the
# first bytes cannot tell apart); `document_format` then checks the container's contents.
FILTERS: dict[str, tuple[str, str]] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "ooxml:word/",
        "MS Word 2007 XML",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "ooxml:xl/",
        "Calc MS Excel 2007 XML",
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        "ooxml:ppt/",
        "Impress MS PowerPoint 2007 XML",
    ),
    "application/vnd.oasis.opendocument.text": ("odf:application/vnd.oasis.opendocument.text", "writer8"),
    "application/vnd.oasis.opendocument.spreadsheet": (
        "odf:application/vnd.oasis.opendocument.spreadsheet",
        "calc8",
    ),
    "application/vnd.oasis.opendocument.presentation": (
        "odf:application/vnd.oasis.opendocument.presentation",
        "impress8",
    ),
    "application/msword": ("ole", "MS Word 97"),
    "application/vnd.ms-excel": ("ole", "MS Excel 97"),
    "application/vnd.ms-powerpoint": ("ole", "MS PowerPoint 97"),
    "application/rtf": ("rtf", "Rich Text Format"),
    "text/rtf": ("rtf", "Rich Text Format"),
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_ZIP_MEMBERS = 10_000  # a real document has dozens; more is a zip bomb's shape

# The profile every conversion starts from: no network through any proxy, no macros, no link updates.
_CLOSED = "127.0.0.1"
REGISTRY = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyName" oor:op="fuse"><value>{_CLOSED}</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyName" oor:op="fuse"><value>{_CLOSED}</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetHTTPSProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyName" oor:op="fuse"><value>{_CLOSED}</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetFTPProxyPort" oor:op="fuse"><value>9</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetNoProxy" oor:op="fuse"><value></value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Writer/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Content/Update"><prop oor:name="Link" oor:op="fuse"><value>2</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""  # noqa: E501  # one registry item per line reads best


def is_document(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in FILTERS


def soffice_missing() -> str | None:
    if shutil.which("soffice") is None:
        return (
            "LibreOffice is not installed (apt-get install libreoffice-writer-nogui libreoffice-calc-nogui"
            " libreoffice-impress-nogui); documents cannot be previewed"
        )
    return None


def document_format(content_type: str | None, path: Path) -> str | Refused:
    """The import filter for a document whose stored type is `content_type`, once its bytes prove that
    format; else why there is no preview."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in FILTERS:
        return Refused("The file is not a Word, Excel, PowerPoint or OpenDocument file.")
    proof, infilter = FILTERS[kind]
    with path.open("rb") as data:
        head = data.read(64)
    if proof == "ole":
        proven = head.startswith(OLE_MAGIC)
    elif proof == "rtf":
        proven = head.startswith(b"{\\rtf")
    else:
        proven = head.startswith(ZIP_MAGIC) and _zip_proves(path, proof)
    if not proven:
        return Refused(f"The file is named as {_plain(kind)}, but its contents are not one.")
    return infilter


def _plain(kind: str) -> str:
    if "word" in kind or kind.endswith(".text") or kind == "application/msword":
        return "a Word or text document"
    if "sheet" in kind or "excel" in kind:
        return "a spreadsheet"
    if "presentation" in kind or "powerpoint" in kind:
        return "a presentation"
    return "a document"


def _zip_proves(path: Path, proof: str) -> bool:
    container, _, marker = proof.partition(":")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) > MAX_ZIP_MEMBERS:
                return False
            if container == "odf":
                mimetype = archive.read("mimetype") if "mimetype" in names else b""
                return mimetype.decode("ascii", "replace").strip() == marker
            return "[Content_Types].xml" in names and any(name.startswith(marker) for name in names)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return False


@functools.cache
def network_namespace_available() -> bool:
    """Whether `unshare --net` works here (root, or user namespaces allowed); asked once per process.
    Every tool run on stored content (LibreOffice here, the skills' tools) is cut off from the network
    with it where it works."""
    if shutil.which("unshare") is None:
        return False
    try:
        done = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def run_soffice(*, source: Path, infilter: str, work: Path, settings: PreviewSettings) -> Path | Refused:
    """Convert `source` to PDF in `work` under the limits; the PDF's path, or why there is no preview."""
    profile, out = work / "profile", work / "out"
    (profile / "user").mkdir(parents=True)
    out.mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(REGISTRY, encoding="utf-8")
    command = [
        "soffice",
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--invisible",
        "--nodefault",
        "--nolockcheck",
        "--nologo",
        "--norestore",
        f"--infilter={infilter}",
        "--convert-to",
        "pdf",
        "--outdir",
        str(out.resolve()),
        str(source.resolve()),
    ]
    if network_namespace_available():
        command = ["unshare", "--net", *command]
    timeout = min(settings.timeout_seconds, MAX_DOCUMENT_SECONDS)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work.resolve()), "LANG": "C.UTF-8"}
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=limits(settings, open_files=OPEN_FILES),  # noqa: PLW1509  # only setrlimit runs there
        start_new_session=True,
        close_fds=True,
        cwd=work,
        env=env,
    ) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # soffice.bin and its helpers are in this group
            process.communicate()
            return Refused(f"Making the preview took longer than {timeout:g} s; it was stopped.")
    target = out / (source.stem + ".pdf")
    if process.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        complaint = output.decode(errors="replace").strip()[-400:]
        return Refused(f"The document could not be opened: {complaint or 'LibreOffice made no PDF'}")
    return target


def document_to_pdf(
    *, source: Path, content_type: str | None, work: Path, settings: PreviewSettings
) -> Path | Refused:
    """The PDF rendition of a document whose bytes prove its stored type, or why there is none."""
    infilter = document_format(content_type, source)
    if isinstance(infilter, Refused):
        return infilter
    work.mkdir(parents=True, exist_ok=True)
    return run_soffice(source=source, infilter=infilter, work=work, settings=settings)
