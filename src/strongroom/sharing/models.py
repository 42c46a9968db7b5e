from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, IdColumn, UTCDateTime


class Grant(Base):
    """A role on a folder or file for one user or one group; inherited by everything below the item."""

    __tablename__ = "grant"
    __table_args__ = (
        Index("ix_grant_item_id", "item_id"),
        Index("ix_grant_user_id", "user_id"),
        Index("ix_grant_group_id", "group_id"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("user_group.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())


class SharedLink(Base):
    """A link to a file or folder. Only the SHA-256 of its token is stored; the token is shown once."""

    __tablename__ = "shared_link"
    __table_args__ = (Index("ix_shared_link_item_id", "item_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    access_level: Mapped[str] = mapped_column(String(16))  # anyone | force | collaborators
    password_hash: Mapped[str | None] = mapped_column(String(200))
    preview_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    download_limit: Mapped[int | None] = mapped_column(Integer)
    download_count: Mapped[int] = mapped_column(Integer, default=0)
    require_recipient_proof: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[str | None] = mapped_column(IdColumn())
    about: Mapped[str] = mapped_column(String(300), default="")  # the case or exhibit, shown to recipients
    notify_owner: Mapped[bool] = mapped_column(Boolean, default=False)  # batched mail on opens/downloads


class LinkDownloadClaim(Base):
    """One counted download of one file (or one zip) by one visitor: while it lasts, that visitor's Range
    requests for the same bytes (seeking, resuming) ride on it instead of counting again."""

    __tablename__ = "link_download_claim"
    __table_args__ = (Index("ix_link_download_claim_key", "link_id", "target", "visitor_key"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("shared_link.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))  # a file's id
    visitor_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LinkNotice(Base):
    """Something an owner asked to hear about (a link opened, a file downloaded), waiting for the
    periodic mail that batches them: one mail per owner per interval."""

    __tablename__ = "link_notice"
    __table_args__ = (Index("ix_link_notice_unsent", "sent_at", "owner_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("shared_link.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(IdColumn())
    what: Mapped[str] = mapped_column(String(200))  # "opened", "downloaded <name>"
    visitor: Mapped[str] = mapped_column(String(320))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LinkRecipient(Base):
    """Someone a link is meant for; with `require_recipient_proof`, only they get in, by a mailed code."""

    __tablename__ = "link_recipient"
    __table_args__ = (Index("uq_link_recipient_email", "link_id", "email_key", unique=True),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("shared_link.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OneTimeCode(Base):
    """A 6-digit code mailed to a link recipient: valid 10 minutes, used once, few attempts."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_link_email", "link_id", "email_key"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("shared_link.id", ondelete="CASCADE"))
    email_key: Mapped[str] = mapped_column(String(320))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class Throttle(Base):
    """Failures counted per key ("link:<id>", "ip:<address>") in a fixed window: guards passwords and
    codes."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)


class UploadRequest(Base):
    """An upload link on a folder for people without an account (a bus garage sending CCTV)."""

    __tablename__ = "upload_request"
    __table_args__ = (Index("ix_upload_request_folder_id", "folder_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    folder_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[str] = mapped_column(Text)  # JSON list of {"name", "label", "required"}
    allowed_types: Mapped[str] = mapped_column(Text, default="[]")  # JSON list: ".mp4", "video/*"
    max_bytes: Mapped[int] = mapped_column(BigInteger)  # all files of one submission together
    single_use: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(200))  # asked before the form, if set


class UploadSubmission(Base):
    """One use of an upload request: its form, its own subfolder, and its files once complete."""

    __tablename__ = "upload_submission"
    __table_args__ = (Index("ix_upload_submission_request_id", "request_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("upload_request.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    form: Mapped[str] = mapped_column(Text)  # JSON of the submitted fields
    submitter_email: Mapped[str | None] = mapped_column(String(320))
    folder_id: Mapped[str | None] = mapped_column(IdColumn())
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SubmissionFile(Base):
    """A file of a submission, received in offset-addressed chunks so that a broken upload resumes."""

    __tablename__ = "submission_file"
    __table_args__ = (Index("ix_submission_file_submission_id", "submission_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    submission_id: Mapped[str] = mapped_column(ForeignKey("upload_submission.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)  # declared when the upload starts
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str | None] = mapped_column(String(200))
    file_id: Mapped[str | None] = mapped_column(IdColumn())  # the stored file once complete
    version_id: Mapped[str | None] = mapped_column(IdColumn())
    sha256: Mapped[str | None] = mapped_column(String(64))


class SubmissionChunk(Base):
    """One received chunk, sealed into its own blob until the submission completes and they are joined."""

    __tablename__ = "submission_chunk"
    __table_args__ = (Index("uq_submission_chunk_offset", "file_id", "offset", unique=True),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("submission_file.id", ondelete="CASCADE"))
    offset: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_key: Mapped[str] = mapped_column(String(64))
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
