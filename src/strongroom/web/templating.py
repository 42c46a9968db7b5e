"""The Jinja environment every HTML page renders with, staff and external alike.

`render(request, "page.html", ...)` fills in what base.html reads: the signed-in user, the CSRF
token of the browser session, and `static_url()`, which appends a content hash so static files can
be cached for a year and still change on upgrade.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from strongroom.web import STATIC_DIR
from strongroom.web.audit_labels import labels_by_value

WEB_DIR = Path(__file__).parent
TEMPLATE_DIR = WEB_DIR / "templates"


@cache
def _asset_hash(path: str) -> str:
    target = (STATIC_DIR / path).resolve()
    if not target.is_relative_to(STATIC_DIR.resolve()) or not target.is_file():
        return "0"
    return hashlib.sha256(target.read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """A /static/ URL with a content-hash query, so a changed file is fetched anew despite long caching."""
    clean = path.lstrip("/")
    return f"/static/{clean}?v={_asset_hash(clean)}"


def filesize(value: int | None) -> str:
    """Bytes as people read them: 1.2 MB, 3.4 GB (powers of 1000, as file managers show)."""
    if value is None:
        return ""
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{value} bytes"


def _uk_zone() -> ZoneInfo | None:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # a host without the time zone database: say UTC rather than guess
        return None


UK_ZONE = _uk_zone()


def uk_time(value: datetime | None) -> str:
    """The one way pages write a moment: UK time, with GMT or BST said (e.g. "1 Dec 2026, 23:05 GMT").
    item.js writes the same format in the browser."""
    if value is None:
        return ""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if UK_ZONE is None:
        return f"{moment.astimezone(UTC):%-d %b %Y, %H:%M} UTC"
    local = moment.astimezone(UK_ZONE)
    return f"{local:%-d %b %Y, %H:%M} {local.tzname()}"


def uk_date(value: datetime | None) -> str:
    """The UK calendar day of a moment as YYYY-MM-DD (a date field's value); empty for none."""
    if value is None:
        return ""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UK_ZONE or UTC).date().isoformat()


templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.globals["static_url"] = static_url
templates.env.filters["filesize"] = filesize
templates.env.filters["uk_time"] = uk_time
templates.env.filters["uk_date"] = uk_date
templates.env.globals["audit_action_labels"] = labels_by_value()


def render(request: Request, name: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the user and CSRF token of the browser session already in its context."""
    context.setdefault("user", getattr(request.state, "web_user", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context.setdefault("flash", [])
    context.setdefault("nav", "")
    return templates.TemplateResponse(request, name, context, status_code=status_code)
