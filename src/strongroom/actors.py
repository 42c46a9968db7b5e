"""The Actor: who is acting, as every service and audit event needs to know, whatever door they came in by."""

from dataclasses import dataclass, field
from enum import StrEnum


class ActorKind(StrEnum):
    USER = "user"
    LINK = "link"  # a visitor of a shared link
    UPLOAD_REQUEST = "upload_request"  # a third party using an upload request
    ANONYMOUS = "anonymous"  # someone who could not be identified (a rejected token, a failed sign-in)
    SYSTEM = "system"  # the CLI as operator, the worker, scheduled jobs


@dataclass(frozen=True)
class Origin:
    """Where a request came from; 'cli' or 'system' when there is no network peer."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str | None
    label: str  # what a report shows: an e-mail, "link sl_…", "system"
    is_admin: bool = False
    group_ids: frozenset[str] = field(default_factory=frozenset)
    origin: Origin = field(default_factory=Origin)
    # The account's role in the force (identity.roles.AccountRole): "admin", "auditor", "user", "guest".
    role: str = "user"

    @classmethod
    def system(cls, *, label: str = "system", origin: Origin | None = None) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, id=None, label=label, is_admin=True, origin=origin or Origin())

    @property
    def user_id(self) -> str | None:
        return self.id if self.kind is ActorKind.USER else None
