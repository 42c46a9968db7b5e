"""Who has access, as people see it: on an item, its owner and every grant on it or on a folder above
it (with where it comes from); under "Shared with me", what others gave me and who gave it; and the
invitation e-mail a colleague gets when someone gives them a role.

The grants themselves are made, changed and removed by `collaborations`; this module only reads them
and words them.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.access.actions import Action, Role
from strongroom.access.loaders import access_item, ancestry
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.config import MailSettings
from strongroom.content.models import Item
from strongroom.identity.models import Group, User
from strongroom.sharing.models import Grant

# The roles in the users' words, weakest first, as the role picker offers them.
ROLE_LABELS = {
    Role.UPLOADER: "Uploader (can add files, cannot see them)",
    Role.PREVIEWER: "Previewer (can preview, not download)",
    Role.VIEWER: "Viewer (can preview and download)",
    Role.PREVIEWER_UPLOADER: "Previewer and uploader",
    Role.VIEWER_UPLOADER: "Viewer and uploader",
    Role.EDITOR: "Editor (can change and delete)",
    Role.CO_OWNER: "Co-owner (can also share and manage)",
    Role.OWNER: "Owner",
}


@dataclass(frozen=True)
class AccessRow:
    holder: str  # a person's name and e-mail, or a group's name
    is_group: bool
    role: str
    grant_id: str | None  # None for the owner
    inherited_from: Item | None  # the folder above that the grant sits on; None when on this item


@dataclass(frozen=True)
class SharedRow:
    item: Item
    role: str
    shared_by: str
    shared_at: datetime


def role_label(role: str) -> str:
    return ROLE_LABELS.get(Role(role), role).split(" (", 1)[0]


def _person(user: User | None) -> str:
    if user is None:
        return "Someone no longer here"
    return f"{user.display_name} ({user.email})" if user.display_name else user.email


def people_with_access(session: Session, actor: Actor, *, item_id: str) -> list[AccessRow]:
    """The owner, then the grants on the item and above it, nearest first. Raises NotFound."""
    item = access_item(session, actor, item_id, Action.SEE)
    chain = ancestry(session, item)
    owner = _person(session.get(User, item.owner_id))
    rows = [AccessRow(owner, is_group=False, role=Role.OWNER.value, grant_id=None, inherited_from=None)]
    for node in reversed(chain):
        grants = session.scalars(select(Grant).where(Grant.item_id == node.id).order_by(Grant.created_at))
        for grant in grants:
            if grant.group_id is not None:
                group = session.get(Group, grant.group_id)
                holder, is_group = (group.name if group else "A removed group"), True
            else:
                holder, is_group = _person(session.get(User, grant.user_id)), False
            source = None if node.id == item.id else node
            rows.append(
                AccessRow(
                    holder, is_group=is_group, role=grant.role, grant_id=grant.id, inherited_from=source
                )
            )
    return rows


def shared_with_me(session: Session, actor: Actor) -> list[SharedRow]:
    """Items granted to the actor or their groups directly, with who shared each and when, newest first."""
    holders = [Grant.user_id == actor.user_id]
    if actor.group_ids:
        holders.append(Grant.group_id.in_(actor.group_ids))
    query = (
        select(Item, Grant)
        .join(Grant, Grant.item_id == Item.id)
        .where(or_(*holders), Item.trashed_at.is_(None))
        .order_by(Grant.created_at.desc())
    )
    rows: dict[str, SharedRow] = {}
    for item, grant in session.execute(query):
        # A group's grant on a SECRET item gives nothing (access.labels), so it is not listed either.
        if item.id in rows or not can(actor, Action.SEE, ancestry(session, item)):
            continue
        by = session.get(User, grant.created_by_id) if grant.created_by_id else None
        rows[item.id] = SharedRow(item, grant.role, _person(by), grant.created_at)
    return list(rows.values())


def mail_invitation(
    session: Session, mail: MailSettings, *, grant: Grant, by: Actor, public_url: str
) -> None:
    """Tell the colleague given a role what they can now open, with a link to it (after commit)."""
    if grant.user_id is None or not mailer.is_configured(mail):
        return  # a group's members find it under "Shared with me"; no mass mail
    user = session.get(User, grant.user_id)
    item = session.get(Item, grant.item_id)
    if user is None or item is None:
        return
    sharer = session.get(User, by.user_id) if by.user_id else None
    page = f"/files/{item.id}" if item.is_folder else f"/items/{item.id}"
    what = "folder" if item.is_folder else "file"
    body = (
        f"{_person(sharer)} gave you access to the {what} “{item.name}” in Strongroom, "
        f"as {role_label(grant.role).lower()}.\n\n"
        f"Open it: {public_url}{page}\n\n"
        "You will find it under “Shared with me” too. Every access is recorded.\n"
    )
    mailer.queue_mail(
        session, mail, mailer.Mail(to=user.email, subject=f"Shared with you: {item.name}", body=body)
    )
