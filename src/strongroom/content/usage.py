"""Storage used: how many bytes a user's files take, every version counted (each is kept, sealed),
grouped by kind of file as people name them (video, pictures, sound, documents, other)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.content.models import FileVersion, Item

KINDS = {"video": "Video", "image": "Pictures", "audio": "Sound"}
DOCUMENTS = ("application/pdf", "text/", "application/msword", "application/vnd.", "application/rtf")


def kind_of(content_type: str | None) -> str:
    major = (content_type or "").split("/", 1)[0]
    if major in KINDS:
        return KINDS[major]
    if content_type and content_type.startswith(DOCUMENTS):
        return "Documents"
    return "Other"


def storage_used(session: Session, actor: Actor) -> dict[str, int]:
    """Bytes of every version of the files the actor owns (trashed ones too: they still take room until
    purged), by kind of file."""
    query = (
        select(FileVersion.content_type, func.sum(FileVersion.size))
        .join(Item, Item.id == FileVersion.file_id)
        .where(Item.owner_id == actor.user_id)
        .group_by(FileVersion.content_type)
    )
    used: dict[str, int] = {}
    for content_type, size in session.execute(query):
        kind = kind_of(content_type)
        used[kind] = used.get(kind, 0) + int(size or 0)
    return used
