"""UK time for what leaves the web pages (mails, zip entry times): the same words the pages use."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _uk_zone() -> ZoneInfo | None:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # a host without the time zone database: say UTC rather than guess
        return None


UK_ZONE = _uk_zone()


def uk_time(value: datetime) -> str:
    """E.g. "1 Dec 2026, 23:05 GMT", as `web.templating.uk_time` writes it."""
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if UK_ZONE is None:
        return f"{moment.astimezone(UTC):%-d %b %Y, %H:%M} UTC"
    local = moment.astimezone(UK_ZONE)
    return f"{local:%-d %b %Y, %H:%M} {local.tzname()}"
