"""`strongroom search`: find folders and files you may see, by words and by metadata."""

import typer

from strongroom.cli.client import JsonOption, api, emit, out, reported
from strongroom.cli.client_transfers import check


def search(
    words: list[str] = typer.Argument(None, help="Words to find in names, metadata and extracted text."),
    where: str = typer.Option("", "--where", help="A metadata query, e.g. 'case.urn = \"01YE1234524\"'."),
    param: list[str] = typer.Option([], "--param", help="A value for :name in --where, as name=value."),
    limit: int = typer.Option(50, "--limit", min=1, max=200, help="How many results to show."),
    as_json: bool = JsonOption,
) -> None:
    """Search what you may see; the total counts only that."""
    with reported(), api() as http:
        params = {}
        for pair in param:
            name, _, value = pair.partition("=")
            params[name] = value
        body = {"q": " ".join(words or []), "where": where, "params": params, "limit": limit}
        page = check(http.post("/api/v1/search", json=body), what="search").json()
        if as_json:
            for hit in page["hits"]:
                emit(hit)
            return
        from rich.table import Table  # rich loads when a table is printed, not at every command's start

        table = Table("type", "name", "classification", "updated", "id", "match")
        for hit in page["hits"]:
            table.add_row(
                hit["kind"],
                hit["name"],
                hit["classification"],
                hit["updated_at"][:10],
                hit["id"],
                hit["snippet"] or "",
            )
        out.print(table)
        out.print(f"{page['total']} found")


def register(app: typer.Typer) -> None:
    app.command()(search)
