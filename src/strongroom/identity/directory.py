"""The force's directory keeps accounts and groups up to date (SCIM provisioning): the rules only.

The SCIM protocol lives in the door (`api/scim.py`); this module decides what a provisioned user or
group becomes here. Rules:
- a directory user is known by its `user_name` (an Entra UPN), unique case-insensitively among
  directory user names and local e-mail addresses; it gets no local password;
- `active = false` disables the account: its sessions and tokens stop at their next request (they check
  `disabled_at`), and the caller ends its locks and unfinished uploads (`content.departures`);
- the directory changes, deactivates and deletes only the accounts it manages (`managed_by_directory`:
  provisioned by it, or linked to it by an external id); a local account, such as the break-glass
  administrator `serve` creates, answers NotManagedByDirectory, so a directory mistake cannot lock the
  force out; nor can it disable the last active administrator (`users.refuse_last_admin`);
- deleting a directory user keeps the row (evidence stays attributable) but disables it and frees its
  user name; deleting a group removes it and the rights it gave;
- every write bumps `version`, which the door serves as the ETag, and is audited in the same
  transaction.
"""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from strongroom.actors import Actor, Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock
from strongroom.db.base import new_id
from strongroom.errors import (
    Conflict,
    InputError,
    NotFound,
    NotManagedByDirectory,
    Unauthenticated,
    VersionChanged,
)
from strongroom.identity import sessions, users
from strongroom.identity.models import Group, GroupMember, ProvisioningToken, User

DIRECTORY = "directory"
REMOVED = "removed"  # a directory user deleted by the directory: kept for the record, never served
TOKEN_PREFIX = "srscim_"  # noqa: S105 - a public prefix so secret scanners can spot leaked tokens


@dataclass(frozen=True)
class DirectoryUser:
    """What the directory says about a person."""

    user_name: str
    external_id: str | None
    email: str | None
    display_name: str | None
    active: bool
    data: str | None  # everything else the directory sent, as SCIM JSON


@dataclass(frozen=True)
class DirectoryGroup:
    display_name: str
    external_id: str | None
    member_ids: frozenset[str]
    data: str | None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_provisioning_token(session: Session, actor: Actor, *, name: str, clock: Clock) -> str:
    """A new bearer token for the directory's SCIM client; returned once, stored as SHA-256."""
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ProvisioningToken(id=new_id("pvt"), name=name, token_hash=_digest(clear), created_at=clock.now())
    session.add(row)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.PROVISIONING_TOKEN_ISSUED,
        details={"token_id": row.id, "name": name},
        at=clock.now(),
    )
    return clear


def authenticate_provisioning_token(session: Session, clear: str, *, origin: Origin, clock: Clock) -> Actor:
    """The directory acting through a provisioning token. Raises Unauthenticated."""
    row = session.scalar(select(ProvisioningToken).where(ProvisioningToken.token_hash == _digest(clear)))
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("The provisioning token is unknown or revoked.")
    now = clock.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        row.last_used_at = now
    return Actor.system(label=f"directory ({row.name})", origin=origin)


def _name_taken(session: Session, key: str, *, other_than: str | None) -> bool:
    """Whether a user name is a served directory user's, or a local account's e-mail (two indexed
    lookups: one OR across both columns would scan the table)."""
    by_name = select(User.id).where(User.user_name_key == key, User.source != REMOVED)
    by_email = select(User.id).where(
        User.email_key == key, User.user_name_key.is_(None), User.source != REMOVED
    )
    for query in (by_name, by_email):
        if other_than is not None:
            query = query.where(User.id != other_than)  # noqa: PLW2901 - narrowing the loop's own query
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def _email_for(entry: DirectoryUser) -> str:
    """The account's e-mail: the directory's, or the user name when it is an address (UPNs are)."""
    candidate = entry.email or entry.user_name
    try:
        return users.normalise_email(candidate)
    except InputError:
        # A user name that is not an address still needs a unique key in the e-mail column.
        return f"{secrets.token_hex(8)}@directory.invalid"


def _check_entry(entry: DirectoryUser) -> None:
    refuse_unsafe(entry.user_name, field="userName", what="The user name")
    if not entry.user_name.strip() or len(entry.user_name) > 320:
        raise InputError("A user name has 1 to 320 characters.", field="userName")
    if entry.display_name is not None:
        refuse_unsafe(entry.display_name, field="displayName", what="The display name")


def _email_clash(session: Session, email: str, *, other_than: str | None) -> str:
    """The e-mail to store: the directory's one, or a placeholder when a local account already has it."""
    query = select(User.id).where(User.email_key == users.email_key(email))
    if other_than is not None:
        query = query.where(User.id != other_than)
    if session.scalar(query.limit(1)) is None:
        return email
    return f"{secrets.token_hex(8)}@directory.invalid"


def create_user(session: Session, actor: Actor, entry: DirectoryUser, *, clock: Clock) -> User:
    """Provision an account. Raises Conflict (user name taken), InputError."""
    _check_entry(entry)
    key = users.email_key(entry.user_name)
    if _name_taken(session, key, other_than=None):
        raise Conflict(f"The user name {entry.user_name!r} is taken.", field="userName")
    now = clock.now()
    email = _email_clash(session, _email_for(entry), other_than=None)
    user = User(
        id=new_id("u"),
        email=email,
        email_key=users.email_key(email),
        display_name=(entry.display_name or entry.user_name)[:200],
        password_hash=None,
        is_admin=False,
        created_at=now,
        updated_at=now,
        disabled_at=None if entry.active else now,
        user_name=entry.user_name,
        user_name_key=key,
        external_id=entry.external_id,
        source=DIRECTORY,
        scim_data=entry.data,
        version=1,
    )
    session.add(user)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.USER_CREATED,
        item=ItemRef("user", user.id, user.email),
        details={"source": DIRECTORY, "active": entry.active},
        at=now,
    )
    return user


def served_user(session: Session, user_id: str, *, for_update: bool = False) -> User:
    """A user the directory may see (not one it removed). Raises NotFound."""
    query = select(User).where(User.id == user_id, User.source != REMOVED)
    if for_update:
        query = query.with_for_update()
    user = session.scalar(query)
    if user is None:
        raise NotFound("user", user_id)
    return user


def managed_by_directory(user: User) -> bool:
    """Whether the directory may change this account: it provisioned it, or it is linked to it."""
    return user.source == DIRECTORY or user.external_id is not None


def _managed_user(session: Session, user_id: str) -> User:
    user = served_user(session, user_id, for_update=True)
    if not managed_by_directory(user):
        raise NotManagedByDirectory(
            "This is a local account, not one the directory provisioned; change it in Strongroom.",
            user_id=user.id,
        )
    return user


def _check_version(row: User | Group, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise VersionChanged("The resource changed since you read it; read it again.")


def update_user(
    session: Session, actor: Actor, user_id: str, entry: DirectoryUser, *, expected: int | None, clock: Clock
) -> tuple[User, bool]:
    """Replace what the directory says about an account; returns it and whether it was just disabled."""
    _check_entry(entry)
    user = _managed_user(session, user_id)
    _check_version(user, expected)
    if not entry.active:
        users.refuse_last_admin(session, user)  # before anything changes: the answer is an error
    key = users.email_key(entry.user_name)
    if _name_taken(session, key, other_than=user.id):
        raise Conflict(f"The user name {entry.user_name!r} is taken.", field="userName")
    now = clock.now()
    was_active = user.disabled_at is None
    user.user_name, user.user_name_key, user.external_id = entry.user_name, key, entry.external_id
    user.scim_data = entry.data
    if entry.display_name:
        user.display_name = entry.display_name[:200]
    if user.source == DIRECTORY:
        email = _email_clash(session, _email_for(entry), other_than=user.id)
        user.email, user.email_key = email, users.email_key(email)
    user.version += 1
    user.updated_at = now
    events.record(session, actor, AuditAction.USER_UPDATED, item=ItemRef("user", user.id, user.email), at=now)
    deactivated = was_active and not entry.active
    if deactivated:
        _disable(session, actor, user, clock=clock)
    elif not was_active and entry.active:
        user.disabled_at = None
        events.record(
            session, actor, AuditAction.USER_ENABLED, item=ItemRef("user", user.id, user.email), at=now
        )
    return user, deactivated


def _disable(session: Session, actor: Actor, user: User, *, clock: Clock) -> None:
    users.refuse_last_admin(session, user)
    user.disabled_at = clock.now()
    ended = sessions.sign_out_everywhere(session, user_id=user.id, clock=clock)
    events.record(
        session,
        actor,
        AuditAction.USER_DISABLED,
        item=ItemRef("user", user.id, user.email),
        details={"sessions_ended": ended, "source": DIRECTORY},
        at=clock.now(),
    )


def delete_user(session: Session, actor: Actor, user_id: str, *, expected: int | None, clock: Clock) -> User:
    """The directory removed a person: disable the account for good and free its user name."""
    user = _managed_user(session, user_id)
    _check_version(user, expected)
    if user.disabled_at is None:
        _disable(session, actor, user, clock=clock)
    user.source = REMOVED
    user.user_name_key = None
    user.version += 1
    user.updated_at = clock.now()
    session.execute(delete(GroupMember).where(GroupMember.user_id == user.id))
    events.record(
        session, actor, AuditAction.USER_DELETED, item=ItemRef("user", user.id, user.email), at=clock.now()
    )
    return user


def _check_group(session: Session, entry: DirectoryGroup, *, other_than: str | None) -> str:
    clean = refuse_unsafe(entry.display_name, field="displayName", what="The group name").strip()
    if not clean or len(clean) > 200:
        raise InputError("A group name has 1 to 200 characters.", field="displayName")
    query = select(Group.id).where(Group.name_key == clean.casefold())
    if other_than is not None:
        query = query.where(Group.id != other_than)
    if session.scalar(query) is not None:
        raise Conflict(f"A group named {clean!r} already exists.", field="displayName")
    return clean


def _set_members(session: Session, group: Group, member_ids: frozenset[str], *, clock: Clock) -> None:
    known = set(
        session.scalars(select(User.id).where(User.id.in_(member_ids), User.source != REMOVED))
        if member_ids
        else []
    )
    if unknown := member_ids - known:
        raise InputError(f"No such user: {min(unknown)}.", field="members")
    current = set(session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group.id)))
    if gone := current - known:
        session.execute(
            delete(GroupMember).where(GroupMember.group_id == group.id, GroupMember.user_id.in_(gone))
        )
    now = clock.now()
    session.add_all(GroupMember(group_id=group.id, user_id=uid, added_at=now) for uid in known - current)


def create_group(session: Session, actor: Actor, entry: DirectoryGroup, *, clock: Clock) -> Group:
    clean = _check_group(session, entry, other_than=None)
    now = clock.now()
    group = Group(
        id=new_id("grp"),
        name=clean,
        name_key=clean.casefold(),
        external_id=entry.external_id,
        created_at=now,
        updated_at=now,
        source=DIRECTORY,
        scim_data=entry.data,
        version=1,
    )
    session.add(group)
    session.flush()
    _set_members(session, group, entry.member_ids, clock=clock)
    events.record(
        session,
        actor,
        AuditAction.GROUP_CREATED,
        item=ItemRef("group", group.id, group.name),
        details={"source": DIRECTORY, "members": len(entry.member_ids)},
        at=now,
    )
    return group


def served_group(session: Session, group_id: str, *, for_update: bool = False) -> Group:
    query = select(Group).where(Group.id == group_id)
    if for_update:
        query = query.with_for_update()
    group = session.scalar(query)
    if group is None:
        raise NotFound("group", group_id)
    return group


def update_group(
    session: Session,
    actor: Actor,
    group_id: str,
    entry: DirectoryGroup,
    *,
    expected: int | None,
    clock: Clock,
) -> Group:
    group = served_group(session, group_id, for_update=True)
    _check_version(group, expected)
    clean = _check_group(session, entry, other_than=group.id)
    group.name, group.name_key, group.external_id = clean, clean.casefold(), entry.external_id
    group.scim_data = entry.data
    group.source = DIRECTORY
    _set_members(session, group, entry.member_ids, clock=clock)
    group.version += 1
    group.updated_at = clock.now()
    events.record(
        session,
        actor,
        AuditAction.GROUP_UPDATED,
        item=ItemRef("group", group.id, group.name),
        details={"members": len(entry.member_ids)},
        at=clock.now(),
    )
    return group


def delete_group(
    session: Session, actor: Actor, group_id: str, *, expected: int | None, clock: Clock
) -> None:
    group = served_group(session, group_id, for_update=True)
    _check_version(group, expected)
    events.record(
        session, actor, AuditAction.GROUP_DELETED, item=ItemRef("group", group.id, group.name), at=clock.now()
    )
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    session.delete(group)
