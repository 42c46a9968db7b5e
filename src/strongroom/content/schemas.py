"""What clients send and see of folders, files and versions; shared by every door."""

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from strongroom.content.models import FileVersion, Item

if TYPE_CHECKING:
    from strongroom.content.folders import ListedItem


class FolderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    parent_id: str = Field(min_length=1, max_length=64, description="A folder id, or `root`.")


class ItemUpdate(BaseModel):
    """Rename and/or move. Give `name`, `parent_id` or both."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    parent_id: str | None = Field(default=None, min_length=1, max_length=64)


class ItemCopy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parent_id: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=1024)


class LockCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class ItemRead(BaseModel):
    id: str
    type: Literal["folder", "file"]
    name: str
    parent_id: str | None
    created_at: datetime
    updated_at: datetime
    etag: str
    size: int | None = None
    sha256: str | None = None
    content_type: str | None = None
    version_id: str | None = None
    scan_status: str | None = Field(
        default=None,
        description="Files: the current version's virus-scan state: pending, clean, infected, "
        "unavailable (scanner down; retried), too_large (held), tampered (held: the stored bytes failed "
        "their integrity check), or not_required.",
    )
    locked: bool = False
    locked_until: datetime | None = None
    trashed_at: datetime | None = None
    classification: str = "OFFICIAL"

    @classmethod
    def of(cls, item: "Item | ListedItem") -> "ItemRead":
        is_file = not item.is_folder
        return cls(
            id=item.id,
            type="folder" if item.is_folder else "file",
            name=item.name,
            parent_id=item.parent_id,
            created_at=item.created_at,
            updated_at=item.updated_at,
            etag=item.etag,
            size=item.size if is_file else None,
            sha256=item.sha256 if is_file else None,
            content_type=item.content_type if is_file else None,
            version_id=item.current_version_id if is_file else None,
            scan_status=(item.scan_status or "not_required") if is_file else None,
            locked=item.locked_by_id is not None,
            locked_until=item.locked_until,
            trashed_at=item.trashed_at,
            classification=item.classification,
        )


class FolderRead(ItemRead):
    path: list["PathEntry"] = []


class PathEntry(BaseModel):
    id: str
    name: str


class ItemPageRead(BaseModel):
    items: list[ItemRead]
    next_marker: str | None = Field(
        description="Pass as `marker` to get the next page; null on the last page."
    )


class UploadResult(BaseModel):
    id: str
    version_id: str
    name: str
    size: int
    sha256: str
    version_number: int


class VersionRead(BaseModel):
    id: str
    number: int
    size: int
    sha256: str
    content_type: str | None
    created_at: datetime
    created_by: str
    restored_from_id: str | None
    current: bool
    scan_status: str = Field(
        description="pending, clean, infected, unavailable, too_large, tampered (held: the stored bytes "
        "failed their integrity check) or not_required"
    )
    scan_detail: str | None = Field(default=None, description="Why a scan is waiting, or what it found")

    @classmethod
    def of(cls, version: FileVersion, *, current_id: str | None) -> "VersionRead":
        return cls(
            id=version.id,
            number=version.number,
            size=version.size,
            sha256=version.sha256,
            content_type=version.content_type,
            created_at=version.created_at,
            created_by=version.created_by_label,
            restored_from_id=version.restored_from_id,
            current=version.id == current_id,
            scan_status=version.scan_status,
            scan_detail=version.scan_detail,
        )
