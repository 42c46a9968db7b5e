"""`strongroom share | request | report`: ways in for other people, and who came in (client side)."""

from typing import Any
from urllib.parse import quote

import typer

from strongroom.cli import client_paths
from strongroom.cli.client import JsonOption, api, console, emit, out, reported
from strongroom.cli.client_transfers import EXIT_USAGE, REASON_HEADER, check


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
    as_json: bool = JsonOption,
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
    if as_json:
        emit(link)
    else:
        out.print(link["url"], markup=False, highlight=False)


def request(
    folder_id: str = typer.Argument(..., help="The folder that receives the uploads: a path or an id."),
    title: str = typer.Option(..., "--title", help="What the uploader sees, e.g. 'CCTV for incident 123'."),
    instructions: str = typer.Option("", "--instructions"),
    expires_in_days: int | None = typer.Option(None, "--expires-in-days", min=1),
    max_bytes: int | None = typer.Option(None, "--max-bytes", min=1),
    allowed_type: list[str] = typer.Option([], "--allowed-type", help="'.mp4' or 'video/*' (repeat)."),
    single_use: bool = typer.Option(False, "--single-use"),
    as_json: bool = JsonOption,
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
        folder = client_paths.folder_id(http, folder_id)
        created = check(
            http.post(f"/api/v1/folders/{folder}/upload-requests", json=body), what="request"
        ).json()
    if as_json:
        emit(created)
    else:
        out.print(created["url"], markup=False, highlight=False)


def report(
    item_id: str = typer.Argument(..., help="The file or folder."),
    reason: str = typer.Option(
        ..., "--reason", help="Why you read the report; recorded in the audit trail with your read."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON lines: one per event."),
) -> None:
    """Who accessed an item, and every event about it. Reading it is audited with your reason."""
    with reported(), api() as http:
        data = check(
            http.get(f"/api/v1/items/{item_id}/access-report", params={"reason": reason}), what="report"
        ).json()
    events = data if isinstance(data, list) else data.get("events") or data.get("items") or []
    if as_json:
        for event in events:
            emit(event)
        return
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
    app.command()(share)
    app.command()(request)
    app.command()(report)
