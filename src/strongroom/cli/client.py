"""`strongroom login | ls | upload | download | share | request | report`: the client side of the CLI.

It speaks only the public API (REST under /api/v1 and tus), with a personal access token saved by
`login` in the user's config directory (0600). Exit codes: 0 ok, 1 failure, 2 usage, 3 not signed
in or token refused, 4 not found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from strongroom.cli.client_transfers import (
    EXIT_AUTH,
    EXIT_USAGE,
    REASON_HEADER,
    ClientError,
    ResumeStore,
    check,
    download,
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
    path = config_dir() / "credentials.json"
    try:
        data = json.loads(path.read_text("utf-8"))
        return Credentials(url=data["url"], token=data["token"], email=data.get("email", ""))
    except (FileNotFoundError, ValueError, KeyError):
        raise ClientError("Not signed in: run `strongroom login URL` first.", exit_code=EXIT_AUTH) from None


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
    try:
        yield
    except ClientError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(exc.exit_code) from None


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
    folder_id: str = typer.Argument("root", help="A folder id, or `root`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """List a folder: folders first, then files, with sizes and SHA-256."""
    with reported(), api() as http:
        from rich.table import Table

        table = Table("type", "name", "size", "sha256", "id")
        for item in _items(http, folder_id):
            if as_json:
                out.print_json(json.dumps(item))
            else:
                size = "" if item["type"] == "folder" else str(item["size"])
                table.add_row(item["type"], item["name"], size, (item.get("sha256") or "")[:16], item["id"])
        if not as_json:
            out.print(table)


def _items(http: httpx.Client, folder_id: str) -> Iterator[dict[str, Any]]:
    marker = None
    while True:
        params = {"limit": 1000, **({"marker": marker} if marker else {})}
        page = check(http.get(f"/api/v1/folders/{folder_id}/items", params=params), what="list folder").json()
        yield from page["items"]
        marker = page.get("next_marker")
        if not marker:
            return


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
    existing = {item["name"].casefold(): item for item in _items(http, folder_id)}
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


def upload(
    paths: list[Path] = typer.Argument(..., help="Files and directories to upload.", exists=True),
    to: str = typer.Option("root", "--to", help="The folder to upload into (an id, or `root`)."),
    parallel: int = typer.Option(4, "--parallel", min=1, max=32, help="Files uploaded at once."),
) -> None:
    """Upload files and directory trees (resumable: run it again after an interruption). Files whose
    SHA-256 equals the server's copy are skipped."""
    with reported(), api() as http:
        jobs = _plan(http, paths, to)
        resume = ResumeStore(config_dir() / "uploads.json")
        sent = skipped = 0
        with _progress() as bars, ThreadPoolExecutor(max_workers=parallel) as pool:
            futures = {pool.submit(_upload_one, http, job, resume, bars): job for job in jobs}
            for future in as_completed(futures):
                if future.result():
                    sent += 1
                else:
                    skipped += 1
        out.print(f"{sent} uploaded, {skipped} unchanged and skipped")


def _upload_one(http: httpx.Client, job: Job, resume: ResumeStore, bars: Progress) -> bool:
    size = job.source.stat().st_size
    task = bars.add_task(str(job.source), total=size)
    if job.remote is not None and job.remote["size"] == size:
        bars.update(task, description=f"{job.source} (checking)")
        if sha256_of(job.source) == job.remote["sha256"]:
            bars.update(task, completed=size, description=f"{job.source} (unchanged)")
            return False
        bars.update(task, description=str(job.source))
    tus_upload(
        http, job.source, folder_id=job.folder_id, resume=resume, progress=lambda n: bars.advance(task, n)
    )
    return True


def download_cmd(
    file_id: str = typer.Argument(..., help="The file's id."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Where to save it (default: its name, here)."
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why you read it: classified material may ask for one (recorded in the audit)."
    ),
) -> None:
    """Download a file (continuing an interrupted download) and check its SHA-256 before keeping it."""
    with reported(), api() as http:
        if output is None:
            output = Path(check(http.get(f"/api/v1/files/{file_id}"), what=f"file {file_id}").json()["name"])
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
        out.print(f"{output}  sha256 {digest}  verified")


def share(
    item_id: str = typer.Argument(..., help="The file or folder to share."),
    access: str = typer.Option("anyone", "--access", help="anyone | force | collaborators"),
    password: str | None = typer.Option(None, "--password", help="Visitors must type this (8+ characters)."),
    expires_in_days: int | None = typer.Option(None, "--expires-in-days", min=1),
    expires_at: str | None = typer.Option(None, "--expires-at", help="ISO 8601 time the link stops working."),
    preview_only: bool = typer.Option(False, "--preview-only", help="View in the browser only; no download."),
    download_limit: int | None = typer.Option(None, "--download-limit", min=1),
    recipient: list[str] = typer.Option([], "--recipient", help="An allowed recipient's e-mail (repeat)."),
    require_proof: bool | None = typer.Option(
        None, "--require-proof/--no-require-proof", help="Recipients prove their e-mail with a mailed code."
    ),
    name: str = typer.Option("", "--name", help="A note for you, e.g. 'CPS - R v Smith'."),
    reason: str | None = typer.Option(
        None,
        "--reason",
        help="Why you disclose it: classified material may ask for one (recorded in the audit).",
    ),
) -> None:
    """Create a shared link and print its URL (shown once)."""
    if access not in {"anyone", "force", "collaborators"}:
        console.print("[red]error:[/red] --access is anyone, force or collaborators")
        raise typer.Exit(EXIT_USAGE)
    body: dict[str, Any] = {
        "name": name,
        "access_level": access,
        "preview_only": preview_only,
        "recipients": recipient,
    }
    optional = {
        "password": password,
        "expires_in_days": expires_in_days,
        "expires_at": expires_at,
        "download_limit": download_limit,
        "require_recipient_proof": require_proof,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    with reported(), api() as http:
        headers = {REASON_HEADER: quote(reason, safe="")} if reason else {}
        response = http.post(f"/api/v1/items/{item_id}/shared-links", json=body, headers=headers)
        link = check(response, what="share").json()
    out.print(link["url"])


def request(
    folder_id: str = typer.Argument(..., help="The folder that receives the uploads."),
    title: str = typer.Option(..., "--title", help="What the uploader sees, e.g. 'CCTV for incident 123'."),
    instructions: str = typer.Option("", "--instructions"),
    expires_in_days: int | None = typer.Option(None, "--expires-in-days", min=1),
    max_bytes: int | None = typer.Option(None, "--max-bytes", min=1),
    allowed_type: list[str] = typer.Option([], "--allowed-type", help="'.mp4' or 'video/*' (repeat)."),
    single_use: bool = typer.Option(False, "--single-use"),
) -> None:
    """Create an upload request (a link for someone without an account to upload through); print its URL."""
    body: dict[str, Any] = {
        "title": title,
        "instructions": instructions,
        "allowed_types": allowed_type,
        "single_use": single_use,
    }
    body.update({k: v for k, v in {"expires_in_days": expires_in_days, "max_bytes": max_bytes}.items() if v})
    with reported(), api() as http:
        created = check(
            http.post(f"/api/v1/folders/{folder_id}/upload-requests", json=body), what="request"
        ).json()
    out.print(created["url"])


def report(
    item_id: str = typer.Argument(..., help="The file or folder."),
    reason: str = typer.Option(
        ..., "--reason", help="Why you read the report; recorded in the audit trail with your read."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Who accessed an item, and every event about it. Reading it is audited with your reason."""
    with reported(), api() as http:
        data = check(
            http.get(f"/api/v1/items/{item_id}/access-report", params={"reason": reason}), what="report"
        ).json()
    if as_json:
        out.print_json(json.dumps(data))
        return
    events = data if isinstance(data, list) else data.get("events") or data.get("items") or []
    from rich.table import Table

    table = Table("time", "action", "who", "ip", "item")
    for event in events:
        table.add_row(
            str(event.get("at") or event.get("occurred_at") or ""),
            str(event.get("action", "")),
            str(event.get("who") or event.get("actor_label") or ""),
            str(event.get("ip") or ""),
            str(event.get("item_name") or event.get("item_id") or ""),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command()(login)
    app.command()(ls)
    app.command()(upload)
    app.command(name="download")(download_cmd)
    app.command()(share)
    app.command()(request)
    app.command()(report)
