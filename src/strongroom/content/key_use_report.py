"""The key-use log joined to what each data key protects (a version or a rendition of a file)."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.content.models import FileRendition, FileVersion
from strongroom.storage.models import KeyUseRecord


def key_uses(session: Session, *, since: datetime | None) -> Iterator[dict[str, Any]]:
    """One dict per log row, oldest first; `item_id` joins it to the audit events about that file."""
    query = (
        select(
            KeyUseRecord,
            FileVersion.id.label("version_id"),
            FileVersion.file_id.label("version_file_id"),
            FileRendition.version_id.label("rendition_of"),
        )
        .outerjoin(FileVersion, FileVersion.blob_key == KeyUseRecord.blob_key)
        .outerjoin(FileRendition, FileRendition.blob_key == KeyUseRecord.blob_key)
        .order_by(KeyUseRecord.id)
    )
    if since is not None:
        query = query.where(KeyUseRecord.last_at >= since)
    for use, version_id, file_id, rendition_of in session.execute(query):
        yield {
            "first_at": use.first_at.isoformat(),
            "last_at": use.last_at.isoformat(),
            "kek_id": use.kek_id,
            "blob_key": use.blob_key,
            "unwraps": use.unwraps,
            "cached_uses": use.cached_uses,
            "process": use.process,
            "version_id": version_id or rendition_of,
            "item_id": file_id,
            "what": "version"
            if version_id
            else "rendition"
            if rendition_of
            else "authenticator app secret"  # identity.mfa seals them under "totp/<user id>"
            if use.blob_key.startswith("totp/")
            else "unknown (purged or pending)",
        }
