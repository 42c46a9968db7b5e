from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, IdColumn, UTCDateTime


class Item(Base):
    """A node of the folder tree. Folders and files share one table so that a name is unique per folder
    across both, and a folder lists in one keyset query."""

    __tablename__ = "item"
    __table_args__ = (
        # Names are unique among the live children of a folder, case-insensitively; trashed items
        # free their name so a new file may take it.
        Index(
            "uq_item_live_name",
            "parent_id",
            "name_key",
            unique=True,
            sqlite_where=text("trashed_at IS NULL"),
            postgresql_where=text("trashed_at IS NULL"),
        ),
        # Keyset paging of a folder: folders first, then files, each by name.
        Index("ix_item_listing", "parent_id", "sort_group", "name_key", "id"),
        Index("ix_item_trash", "trashed_by_id", "trashed_at"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6))  # "folder" | "file"
    sort_group: Mapped[int] = mapped_column(SmallInteger)  # 0 folders, 1 files: folders list first
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())
    # Trash: `trashed_at` on the item the user deleted (and only there); its descendants are hidden
    # through it. `trash_parent_id` remembers where to restore it.
    trashed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trashed_by_id: Mapped[str | None] = mapped_column(IdColumn())
    # Files only:
    current_version_id: Mapped[str | None] = mapped_column(IdColumn())
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    # The current version's virus-scan state, kept here so listings show it without a join.
    scan_status: Mapped[str | None] = mapped_column(String(16))
    locked_by_id: Mapped[str | None] = mapped_column(IdColumn())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Government Security Classification label; what each label forbids lives in the sharing policy.
    classification: Mapped[str] = mapped_column(String(32), default="OFFICIAL", server_default="OFFICIAL")
    # Bumped on every change that clients may race on; the ETag of metadata updates.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_abstract": True}

    @property
    def is_folder(self) -> bool:
        return self.kind == "folder"

    @property
    def etag(self) -> str:
        """The ETag of the item's metadata: changes with every change clients may race on."""
        return f'"{self.id}.{self.revision}"'


class Folder(Item):
    __mapper_args__ = {"polymorphic_identity": "folder"}


class File(Item):
    __mapper_args__ = {"polymorphic_identity": "file"}


class FileVersion(Base):
    """One stored state of a file's bytes. The blob is sealed with its own data key, kept here only
    wrapped by a key-encryption key; `sealed_for_id` is the version id bound into the blob's AAD (a
    restored or copied version shares the blob of the version it came from)."""

    __tablename__ = "file_version"
    __table_args__ = (
        Index("uq_file_version_number", "file_id", "number", unique=True),
        Index("ix_file_version_blob_key", "blob_key"),
        Index("ix_file_version_scan_status", "scan_status"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    blob_key: Mapped[str] = mapped_column(String(64))
    sealed_for_id: Mapped[str] = mapped_column(IdColumn())
    segment_size: Mapped[int] = mapped_column(Integer)
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())
    created_by_label: Mapped[str] = mapped_column(String(320))
    restored_from_id: Mapped[str | None] = mapped_column(IdColumn())
    # A version whose bytes came from outside (upload request, anonymous) waits for a virus scan:
    # pending | clean | infected | unavailable (scanner down, retried) | too_large | not_required.
    scan_status: Mapped[str] = mapped_column(String(16), default="not_required")
    scan_detail: Mapped[str | None] = mapped_column(String(500))
    scan_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scan_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)


class FileRendition(Base):
    """A derived copy of a version for the browser (preview): never the original bytes, so preview-only
    access can be served from it. Sealed like any version, with its own data key."""

    __tablename__ = "file_rendition"
    __table_args__ = (Index("uq_file_rendition_kind", "version_id", "kind", unique=True),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("file_version.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "preview"
    status: Mapped[str] = mapped_column(String(16))  # ready | failed | unsupported
    detail: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    blob_key: Mapped[str | None] = mapped_column(String(64))
    segment_size: Mapped[int] = mapped_column(Integer, default=0)
    kek_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TusUpload(Base):
    """A resumable (tus) upload in progress: where it goes, how far it got, and how to continue sealing it.

    `received` and `sealed_tail` change together in one transaction (see storage/resumable.py). The
    data key is stored wrapped, as on a version; the version created at the end reuses it. A lease
    (`lease_token`, `lease_until`) keeps two requests from writing one upload at once.
    """

    __tablename__ = "tus_upload"
    __table_args__ = (
        Index("ix_tus_upload_expires_at", "expires_at"),
        # The open-upload caps count a user's unfinished uploads; finished rows stay a day (migration 0011).
        Index(
            "ix_tus_upload_open_by_creator",
            "created_by_id",
            sqlite_where=text("completed_at IS NULL"),
            postgresql_where=text("completed_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    created_by_id: Mapped[str] = mapped_column(IdColumn())
    folder_id: Mapped[str] = mapped_column(IdColumn())
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(200))
    upload_metadata: Mapped[str | None] = mapped_column(String(4096))
    length: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    version_id: Mapped[str] = mapped_column(IdColumn())
    blob_key: Mapped[str] = mapped_column(String(64))
    blob_header: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_tail: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The process holding the lease (BlobStore.writer_id): a lease of a process known gone is taken over.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    file_id: Mapped[str | None] = mapped_column(IdColumn())


class PendingBlob(Base):
    """A blob being written whose record is not committed yet (see content/pending_blobs.py).

    Committed before the blob's first byte, so the orphan collector, which reads this table after
    listing the store, never takes a fresh blob for an orphan while its version commits.
    """

    __tablename__ = "pending_blob"

    blob_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ScrubPosition(Base):
    """Where the background integrity scrub stopped: the last blob it checked (content/scrub.py)."""

    __tablename__ = "scrub_position"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "version" | "rendition"
    last_id: Mapped[str] = mapped_column(IdColumn())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Disposal(Base):
    """A version deleted for good: what it was (its SHA-256 stays), who disposed of it, when, why, and
    the signed certificate that proves it (issued once the purge's audit event is in the log)."""

    __tablename__ = "disposal"
    __table_args__ = (Index("ix_disposal_batch", "batch"), Index("ix_disposal_item_id", "item_id"))

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    batch: Mapped[str] = mapped_column(String(64))  # one purge; named in its audit event's details
    purged_root_id: Mapped[str] = mapped_column(IdColumn())  # the item the purge was asked for
    item_id: Mapped[str] = mapped_column(IdColumn())
    item_name: Mapped[str] = mapped_column(String(1024))
    version_id: Mapped[str] = mapped_column(IdColumn())
    version_number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    disposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disposed_by_id: Mapped[str | None] = mapped_column(IdColumn())
    disposed_by_label: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(2000))
    key_destroyed: Mapped[bool] = mapped_column(Boolean)  # False: a copy still uses the same bytes
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)
    certificate: Mapped[str | None] = mapped_column(String)  # signed JSON, once issued
