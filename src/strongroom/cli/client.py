"""`strongroom login | ls | upload | download | share | request | report`: the client side of the CLI.

It speaks only the public API (REST under /api/v1 and tus), with a personal access token saved by
`login` in the user's config directory (0600), or taken from STRONGROOM_TOKEN (with STRONGROOM_URL,
or the address saved by `login`) for scripts and CI. Folders and files are named by path
("Op KESTREL/CCTV") or by id. `--json` prints one JSON object per line. Exit codes: 0 ok,
1 failure, 2 usage, 3 not signed in or token refused, 4 not found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from strongroom.cli import client_paths
from strongroom.cli.client_transfers import (
    EXIT_AUTH,
    EXIT_USAGE,
    ClientError,
    ResumeStore,
    check,
    download,
    local_name,
    sha256_of,
    tus_upload,
)

if TYPE_CHECKING:
    import httpx
    from rich.console import Console
    from rich.progress import Progress

# httpx (which brings rich and pygments) and rich are imported when a client command runs: the
# server process loads this module to register the commands, and must not pay ~5 MiB for them.


class _LazyConsole:
    """A rich Console made on first use."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


console = _LazyConsole(stderr=True)
out = _LazyConsole(stderr=False)


def config_dir() -> Path:
    """The client's config directory; STRONGROOM_CLIENT_DIR overrides the platform's default."""
    override = os.environ.get("STRONGROOM_CLIENT_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("strongroom"))


@dataclass(frozen=True)
class Credentials:
    url: str
    token: str
    email: str


def save_credentials(creds: Credentials) -> Path:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "credentials.json"
    # Created 0600 from the start: the token must never be readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(creds.__dict__, handle)
    return path


def load_credentials() -> Credentials:
    """STRONGROOM_TOKEN (and STRONGROOM_URL) when set, else what `login` saved."""
    path = config_dir() / "credentials.json"
    saved: dict[str, str] = {}
    with suppress(FileNotFoundError, ValueError):
        saved = json.loads(path.read_text("utf-8"))
    env_token = os.environ.get("STRONGROOM_TOKEN", "").strip()
    url = (os.environ.get("STRONGROOM_URL") or saved.get("url") or "").rstrip("/")
    token = env_token or saved.get("token", "")
    if env_token and not url:
        msg = (
            "STRONGROOM_TOKEN is set but not the server: set STRONGROOM_URL (or run `strongroom login URL`)."
        )
        raise ClientError(msg, exit_code=EXIT_USAGE)
    if not token or not url:
        raise ClientError(
            "Not signed in: run `strongroom login URL`, or set STRONGROOM_TOKEN and STRONGROOM_URL.",
            exit_code=EXIT_AUTH,
        )
    return Credentials(url=url, token=token, email="" if env_token else saved.get("email", ""))


@contextmanager
def api(creds: Credentials | None = None) -> Iterator[httpx.Client]:
    import httpx

    creds = creds or load_credentials()
    with httpx.Client(
        base_url=creds.url,
        headers={"Authorization": f"Bearer {creds.token}", "User-Agent": "strongroom-cli"},
        timeout=httpx.Timeout(60.0, connect=10.0),
    ) as http:
        try:
            yield http
        except httpx.TransportError as exc:
            raise ClientError(f"Cannot reach {creds.url}: {exc}") from exc


@contextmanager
def reported() -> Iterator[None]:
    """Turn ClientErrors into a message and the exit code the module docstring promises."""
    import httpx

    try:
        yield
    except ClientError as exc:
        _error(exc.message, exc.exit_code)
    except httpx.HTTPError as exc:  # a timeout or a broken answer: say so, never a traceback
        _error(f"The server did not answer properly ({exc.__class__.__name__}: {exc}); try again.", 1)
    except OSError as exc:  # a local file: permission, disk full, gone
        _error(f"{exc.filename or 'file'}: {exc.strerror or exc}", 1)


def _error(message: str, exit_code: int) -> None:
    console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    raise typer.Exit(exit_code) from None


def emit(record: dict[str, Any]) -> None:
    """One JSON object on one line of standard output (`--json`)."""
    typer.echo(json.dumps(record, ensure_ascii=False, default=str))


JsonOption = typer.Option(False, "--json", help="Print JSON lines (one object per line) instead of text.")


def login(
    url: str = typer.Argument(..., help="The server's address, e.g. https://strongroom.force.police.uk"),
    token: str | None = typer.Option(
        None, "--token", help="A personal access token (made in the web UI); asked for if not given."
    ),
) -> None:
    """Sign in with a personal access token and remember it (0600, in your config directory)."""
    with reported():
        if not url.startswith(("http://", "https://")):
            raise ClientError("URL must start with http:// or https://", exit_code=EXIT_USAGE)
        clear = token or typer.prompt("Personal access token", hide_input=True)
        creds = Credentials(url=url.rstrip("/"), token=clear.strip(), email="")
        with api(creds) as http:
            me = check(http.get("/api/v1/me"), what="sign in").json()
        path = save_credentials(Credentials(url=creds.url, token=creds.token, email=me["email"]))
        out.print(f"Signed in to {creds.url} as {me['email']} (token saved in {path})")


def ls(
    folder: str = typer.Argument("root", help='A folder path ("Op KESTREL/CCTV"), an id, or `root`.'),
    as_json: bool = JsonOption,
) -> None:
    """List a folder: folders first, then files, with sizes and SHA-256."""
    with reported(), api() as http:
        from rich.table import Table

        table = Table("type", "name", "size", "sha256", "id")
        for item in client_paths.items(http, client_paths.folder_id(http, folder)):
            if as_json:
                emit(item)
            else:
                size = "" if item["type"] == "folder" else str(item["size"])
                table.add_row(item["type"], item["name"], size, (item.get("sha256") or "")[:16], item["id"])
        if not as_json:
            out.print(table)


def _progress() -> Progress:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console.real(),
        transient=False,
    )


@dataclass(frozen=True)
class Job:
    source: Path
    folder_id: str
    remote: dict[str, Any] | None


def _plan(http: httpx.Client, sources: list[Path], folder_id: str) -> list[Job]:
    """Folders made (or found) remotely, and one job per local file, with its remote namesake if any."""
    jobs: list[Job] = []
    existing = {item["name"].casefold(): item for item in client_paths.items(http, folder_id)}
    for source in sources:
        if source.is_dir():
            child = existing.get(source.name.casefold())
            if child is None or child["type"] != "folder":
                child = check(
                    http.post("/api/v1/folders", json={"name": source.name, "parent_id": folder_id}),
                    what=f"create folder {source.name}",
                ).json()
            jobs += _plan(http, sorted(source.iterdir()), child["id"])
        elif source.is_file():
            remote = existing.get(source.name.casefold())
            jobs.append(
                Job(
                    source=source,
                    folder_id=folder_id,
                    remote=remote if remote and remote["type"] == "file" else None,
                )
            )
    return jobs


@dataclass(frozen=True)
class Sent:
    uploaded: bool  # False: the server's copy had the same SHA-256, nothing was sent
    sha256: str
    file_id: str | None


def _destination_and_sources(args: list[str], to: str | None) -> tuple[str, list[Path]]:
    """`upload FOLDER PATH...` or `upload PATH... [--to FOLDER]`: a first argument that is not a local
    file or directory, followed by others, names the folder."""
    destination = to or "root"
    if to is None and len(args) > 1 and not Path(args[0]).exists():
        destination, args = args[0], args[1:]
    sources = [Path(arg) for arg in args]
    missing = [str(path) for path in sources if not path.exists()]
    if missing:
        raise ClientError(f"No such file or directory: {', '.join(missing)}", exit_code=EXIT_USAGE)
    return destination, sources


def upload(
    args: list[str] = typer.Argument(
        ...,
        metavar="[FOLDER] PATH...",
        help='Files and directories to upload, after the folder to put them in by path ("Op KESTREL/CCTV";'
        " made if missing). Without a folder they go to --to, or your root.",
    ),
    to: str | None = typer.Option(None, "--to", help="The folder to upload into: a path or an id."),
    parallel: int = typer.Option(4, "--parallel", min=1, max=32, help="Files uploaded at once."),
    as_json: bool = JsonOption,
) -> None:
    """Upload files and directory trees (resumable: run it again after an interruption) and print each
    file's SHA-256, checked against the server's. Files whose SHA-256 equals the server's copy are skipped."""
    with reported():
        destination, sources = _destination_and_sources(args, to)
        with api() as http:
            folder = client_paths.folder_id(http, destination, create=True)
            jobs = _plan(http, sources, folder)
            resume = ResumeStore(config_dir() / "uploads.json")
            results: list[Sent | None] = [None] * len(jobs)
            with _progress() as bars, ThreadPoolExecutor(max_workers=parallel) as pool:
                futures = {pool.submit(_upload_one, http, job, resume, bars): n for n, job in enumerate(jobs)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
        sent = 0
        for job, result in zip(jobs, results, strict=True):
            if result is None:
                continue
            sent += result.uploaded
            if as_json:
                status = "uploaded" if result.uploaded else "unchanged"
                emit(
                    {"path": str(job.source), "id": result.file_id, "sha256": result.sha256, "status": status}
                )
            else:
                out.print(f"{result.sha256}  {job.source}", markup=False, highlight=False)
        if not as_json:
            out.print(f"{sent} uploaded, {len(jobs) - sent} unchanged and skipped")


def _upload_one(http: httpx.Client, job: Job, resume: ResumeStore, bars: Progress) -> Sent:
    size = job.source.stat().st_size
    task = bars.add_task(str(job.source), total=size)
    if job.remote is not None and job.remote["size"] == size:
        bars.update(task, description=f"{job.source} (checking)")
        if sha256_of(job.source) == job.remote["sha256"]:
            bars.update(task, completed=size, description=f"{job.source} (unchanged)")
            return Sent(uploaded=False, sha256=job.remote["sha256"], file_id=job.remote["id"])
        bars.update(task, description=str(job.source))
    done = tus_upload(
        http, job.source, folder_id=job.folder_id, resume=resume, progress=lambda n: bars.advance(task, n)
    )
    if done.file_id is not None:
        stored = check(http.get(f"/api/v1/files/{done.file_id}"), what=f"check {job.source}").json()
        if stored.get("sha256") not in {done.sha256, None}:
            raise ClientError(
                f"{job.source}: the server holds SHA-256 {stored['sha256']}, but {done.sha256} was sent"
                " (the file changed while it was read, or another upload replaced it); upload it again."
            )
    return Sent(uploaded=True, sha256=done.sha256, file_id=done.file_id)


def download_cmd(
    file: str = typer.Argument(..., help='The file: its path ("Op KESTREL/CCTV/cam1.mp4") or its id.'),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Where to save it (default: its name, here)."
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why you read it: classified material may ask for one (recorded in the audit)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Download a file (continuing an interrupted download) and check its SHA-256 before keeping it."""
    with reported(), api() as http:
        file_id = client_paths.file_id(http, file)
        if output is None:
            name = check(http.get(f"/api/v1/files/{file_id}"), what=f"file {file}").json()["name"]
            output = Path(local_name(str(name)))
        with _progress() as bars:
            task = bars.add_task(output.name, total=None)
            digest = download(
                http,
                file_id,
                output,
                progress_total=lambda total, done: bars.update(task, total=total, completed=done),
                progress=lambda n: bars.advance(task, n),
                reason=reason,
            )
        if as_json:
            emit({"path": str(output), "id": file_id, "sha256": digest, "verified": True})
        else:
            out.print(f"{output}  sha256 {digest}  verified", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(ls)
    app.command()(upload)
    app.command(name="download")(download_cmd)
