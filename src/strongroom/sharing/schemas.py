"""What clients send and see of grants, shared links and upload requests; shared by every door."""

import json
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.actions import Role
from strongroom.numbers import MAX_COUNT
from strongroom.sharing.models import Grant, SharedLink, UploadRequest

AccessLevel = Literal["anyone", "force", "collaborators"]


class GrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    user_email: str | None = Field(default=None, max_length=320)
    group_id: str | None = Field(default=None, max_length=64)


class GrantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class GrantRead(BaseModel):
    id: str
    item_id: str
    role: Role
    user_id: str | None
    group_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, grant: Grant) -> "GrantRead":
        return cls(
            id=grant.id,
            item_id=grant.item_id,
            role=Role(grant.role),
            user_id=grant.user_id,
            group_id=grant.group_id,
            created_at=grant.created_at,
        )


class SharedLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200, description="A note for you, e.g. 'CPS - R v Smith'.")
    access_level: AccessLevel = "anyone"
    password: str | None = Field(default=None, min_length=8, max_length=200)
    expires_at: datetime | None = Field(
        default=None, description="When the link stops working (server time)."
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Alternative to `expires_at`."
    )
    preview_only: bool = False
    download_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    recipients: list[str] = Field(default_factory=list, max_length=100)
    require_recipient_proof: bool | None = Field(
        default=None,
        description="Recipients must prove their e-mail by a mailed code (default: when recipients are given).",  # noqa: E501
    )
    about: str = Field(
        default="", max_length=300, description="The case or exhibit, shown to recipients, e.g. 'R v Smith'."
    )
    notify_owner: bool = Field(
        default=False, description="Mail me (batched) when the link is opened or a file downloaded."
    )
    send_mail: bool = Field(default=False, description="E-mail the link to each of `recipients` now.")


class SharedLinkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None
    download_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    preview_only: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
    remove_password: bool = False
    recipients: list[str] | None = Field(default=None, max_length=100)
    about: str | None = Field(default=None, max_length=300)
    notify_owner: bool | None = None


class SharedLinkRead(BaseModel):
    id: str
    item_id: str
    name: str
    access_level: AccessLevel
    has_password: bool
    preview_only: bool
    expires_at: datetime | None
    download_limit: int | None
    download_count: int
    require_recipient_proof: bool
    recipients: list[str]
    created_at: datetime
    revoked_at: datetime | None
    url: str | None = Field(default=None, description="Only in the response that created the link.")
    about: str = ""
    notify_owner: bool = False

    @classmethod
    def of(cls, link: SharedLink, *, recipients: list[str], url: str | None = None) -> "SharedLinkRead":
        return cls(
            id=link.id,
            item_id=link.item_id,
            name=link.name,
            access_level=link.access_level,
            has_password=link.password_hash is not None,
            preview_only=link.preview_only,
            expires_at=link.expires_at,
            download_limit=link.download_limit,
            download_count=link.download_count,
            require_recipient_proof=link.require_recipient_proof,
            recipients=recipients,
            created_at=link.created_at,
            revoked_at=link.revoked_at,
            url=url,
            about=link.about or "",
            notify_owner=bool(link.notify_owner),
        )


class AccessEntryRead(BaseModel):
    """One line of an access report: who did what, when, from where."""

    seq: int
    at: datetime
    action: str
    who: str
    actor_kind: str
    link_id: str | None
    ip: str | None
    user_agent: str | None
    item_id: str | None
    item_name: str | None
    details: dict[str, object]


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=200)
    required: bool = True
    kind: Literal["text", "email", "textarea"] = "text"


DEFAULT_FIELDS = [
    FormField(name="name", label="Your name"),
    FormField(name="email", label="Your e-mail address", kind="email"),
    FormField(name="organisation", label="Organisation", required=False),
    FormField(name="reference", label="Crime or incident reference", required=False),
    FormField(name="description", label="What are you sending?", kind="textarea", required=False),
]


class UploadRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field(default="", max_length=5000)
    fields: list[FormField] = Field(default_factory=lambda: list(DEFAULT_FIELDS), max_length=30)
    expires_at: datetime | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    max_bytes: int = Field(
        default=10 * 1024**3, ge=1, le=MAX_COUNT, description="Largest total of one submission's files."
    )
    allowed_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Extensions ('.mp4') or media types ('video/*'); empty: any.",
    )
    single_use: bool = False
    password: str | None = Field(
        default=None, min_length=8, max_length=200, description="Asked before the form; give it apart."
    )


class UploadRequestRead(BaseModel):
    id: str
    folder_id: str
    title: str
    instructions: str
    fields: list[FormField]
    expires_at: datetime | None
    max_bytes: int
    allowed_types: list[str]
    single_use: bool
    used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    has_password: bool = False
    url: str | None = None

    @classmethod
    def of(cls, request: UploadRequest, *, url: str | None = None) -> "UploadRequestRead":
        return cls(
            id=request.id,
            folder_id=request.folder_id,
            title=request.title,
            instructions=request.instructions,
            fields=[FormField(**f) for f in json.loads(request.fields)],
            expires_at=request.expires_at,
            max_bytes=request.max_bytes,
            allowed_types=json.loads(request.allowed_types),
            single_use=request.single_use,
            used_at=request.used_at,
            revoked_at=request.revoked_at,
            created_at=request.created_at,
            has_password=request.password_hash is not None,
            url=url,
        )


class SubmissionStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: dict[str, str] = Field(default_factory=dict)


class SubmissionFileStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0, le=MAX_COUNT)
    content_type: str | None = Field(default=None, max_length=200)


class ReceiptFile(BaseModel):
    name: str
    size: int
    sha256: str
    scan: str = ""  # the virus scan's verdict in the sender's words ("Accepted", "Rejected by ...")


class Receipt(BaseModel):
    reference: str
    request_title: str
    received_at: datetime
    files: list[ReceiptFile]
    form: dict[str, str]
