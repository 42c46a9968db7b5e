"""access_* loaders: load an item for an actor, or raise NotFound.

The error is the same for an item that does not exist and one the actor may not see, so ids
cannot be probed. This is the only way a service gets an item on behalf of an actor.
"""

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.policy import can
from strongroom.actors import Actor
from strongroom.content.models import File, FileVersion, Folder, Item
from strongroom.errors import NotFound

MAX_DEPTH = 256


def ancestry(session: Session, item: Item) -> list[Item]:
    """The item's path from its root down to the item itself (identity-mapped, so cheap when repeated)."""
    chain = [item]
    node = item
    while node.parent_id is not None and len(chain) < MAX_DEPTH:
        parent = session.get(Item, node.parent_id)
        if parent is None:
            break
        chain.append(parent)
        node = parent
    chain.reverse()
    return chain


def access_item(session: Session, actor: Actor, item_id: str, action: Action) -> Item:
    """A live (not trashed) folder or file the actor may act on."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("item", item_id)
    chain = ancestry(session, item)
    if any(node.trashed_at is not None for node in chain):
        raise NotFound("item", item_id)
    if not can(actor, action, chain):
        raise NotFound("item", item_id)
    return item


def access_trashed_item(session: Session, actor: Actor, item_id: str, action: Action) -> Item:
    """An item the actor put in the trash (the trashed item itself, not something inside a trashed folder)."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound("item", item_id)
    if item.trashed_at is None:
        raise NotFound("item", item_id)
    chain = ancestry(session, item)
    if not can(actor, action, chain):
        raise NotFound("item", item_id)
    return item


def access_folder(session: Session, actor: Actor, folder_id: str, action: Action) -> Folder:
    item = access_item(session, actor, folder_id, action)
    if not isinstance(item, Folder):
        raise NotFound("folder", folder_id)
    return item


def access_file(session: Session, actor: Actor, file_id: str, action: Action) -> File:
    item = access_item(session, actor, file_id, action)
    if not isinstance(item, File):
        raise NotFound("file", file_id)
    return item


def access_version(
    session: Session, actor: Actor, file_id: str, version_id: str, action: Action
) -> FileVersion:
    file = access_file(session, actor, file_id, action)
    version = session.get(FileVersion, version_id)
    if version is None:
        raise NotFound("version", version_id)
    if version.file_id != file.id:
        raise NotFound("version", version_id)
    return version
