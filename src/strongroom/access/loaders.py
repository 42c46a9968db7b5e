"""access_* loaders: load an item for an actor, or raise NotFound.

The error is the same for an item that does not exist and one the actor may not see, so ids
cannot be probed. This is the only way a service gets an item on behalf of an actor.
"""

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy import Select, bindparam, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.policy import can, role_rules_out
from strongroom.actors import Actor
from strongroom.content.models import File, FileVersion, Folder, Item
from strongroom.errors import GuestMayNotShare, NotFound

MAX_DEPTH = 256
_KEPT = "strongroom.access.ancestors"


def _ancestors_statement() -> Select[Item]:
    seed = select(Item.id, Item.parent_id, literal(1).label("depth")).where(Item.id == bindparam("start"))
    up = seed.cte("ancestors", recursive=True)
    up = up.union_all(
        select(Item.id, Item.parent_id, (up.c.depth + 1).label("depth"))
        .join(up, Item.id == up.c.parent_id)
        .where(up.c.depth < MAX_DEPTH)
    )
    return select(Item).join(up, Item.id == up.c.id)


# Built once: building the recursive query cost more Python than running it, on every check (issue 14).
_ANCESTORS = _ancestors_statement()


def _load_ancestors(session: Session, parent_id: str) -> dict[str, Item]:
    """The item `parent_id` and all its ancestors, by id, loaded in one query (a recursive CTE).

    Walking up with one `session.get` per level cost a round trip per level: 20 for a file 20 folders
    deep, most of a permission check's time on a busy server (bench/bench_force.py). The session holds
    its objects weakly, so the ancestors are also kept in `session.info` for the transaction: a second
    walk (a listing checks its folder twice) then finds them in the identity map, with no query."""
    loaded = {node.id: node for node in session.scalars(_ANCESTORS, {"start": parent_id})}
    session.info.setdefault(_KEPT, []).extend(loaded.values())
    return loaded


def ancestry(session: Session, item: Item) -> list[Item]:
    """The item's path from its root down to the item itself (identity-mapped, so cheap when repeated)."""
    chain = [item]
    node = item
    loaded: dict[str, Item] = {}
    if node.parent_id is not None and identity_key(Item, node.parent_id) not in session.identity_map:
        loaded = _load_ancestors(session, node.parent_id)
    while node.parent_id is not None and len(chain) < MAX_DEPTH:
        parent = loaded.get(node.parent_id) or session.get(Item, node.parent_id)
        if parent is None:
            break
        chain.append(parent)
        node = parent
    chain.reverse()
    return chain


def _item_with_ancestry(session: Session, item_id: str) -> Item | None:
    """The item, with its ancestors loaded in the same query when it is not in the session yet: a
    permission check then costs one query for the whole path, the item included (issue 14)."""
    if identity_key(Item, item_id) in session.identity_map:
        return session.get(Item, item_id)
    return _load_ancestors(session, item_id).get(item_id)


def _refuse_by_role(actor: Actor, action: Action) -> None:
    """A refusal that comes from the actor's role, not the item: 403, the same for every id."""
    if role_rules_out(actor, action):
        raise GuestMayNotShare(
            "External guests see what is shared with them; they cannot share it on "
            "(no shared links, upload requests or invitations).",
            action=action.value,
        )


def access_item(session: Session, actor: Actor, item_id: str, action: Action) -> Item:
    """A live (not trashed) folder or file the actor may act on. Raises NotFound, or GuestMayNotShare
    when the actor's role rules the action out everywhere."""
    _refuse_by_role(actor, action)
    item = _item_with_ancestry(session, item_id)
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
    _refuse_by_role(actor, action)
    item = _item_with_ancestry(session, item_id)
    if item is None:
        raise NotFound("item", item_id)
    if item.trashed_at is None:
        raise NotFound("item", item_id)
    chain = ancestry(session, item)
    if not can(actor, action, chain):
        raise NotFound("item", item_id)
    return item


def access_folder(session: Session, actor: Actor, folder_id: str, action: Action) -> Folder:
    # One answer per slot: a file's id, someone else's folder and a random id all say "no folder".
    try:
        item = access_item(session, actor, folder_id, action)
    except NotFound:
        raise NotFound("folder", folder_id) from None
    if not isinstance(item, Folder):
        raise NotFound("folder", folder_id)
    return item


def access_file(session: Session, actor: Actor, file_id: str, action: Action) -> File:
    try:
        item = access_item(session, actor, file_id, action)
    except NotFound:
        raise NotFound("file", file_id) from None
    if not isinstance(item, File):
        raise NotFound("file", file_id)
    return item


def access_version(
    session: Session, actor: Actor, file_id: str, version_id: str, action: Action
) -> FileVersion:
    """A version of a file the actor may act on. Every refusal, whether of the file or of the version,
    is the same NotFound as a random version id."""
    try:
        file = access_file(session, actor, file_id, action)
    except NotFound:
        raise NotFound("version", version_id) from None
    version = session.get(FileVersion, version_id)
    if version is None:
        raise NotFound("version", version_id)
    if version.file_id != file.id:
        raise NotFound("version", version_id)
    return version


def may(session: Session, actor: Actor, item_id: str, action: Action) -> bool:
    """Whether the actor may do `action` to the live item: what a page asks to show or hide a button."""
    try:
        access_item(session, actor, item_id, action)
    except (NotFound, GuestMayNotShare):
        return False
    return True


def effective_label(session: Session, item: Item) -> str:
    """The classification that governs the item: the highest on its path (see `access.labels`)."""
    return labels.effective_label(ancestry(session, item))


class ListedRow(Protocol):
    """What a listing row carries for the check: its id and its own label."""

    @property
    def id(self) -> str: ...
    @property
    def classification(self) -> str: ...


_Row = TypeVar("_Row", bound=ListedRow)


def visible_rows(session: Session, actor: Actor, folder: Item, rows: Sequence[_Row]) -> list[_Row]:
    """`visible_children` for listing rows (not ORM objects): a row labelled higher than the folder is
    loaded and put to `can()`; the others pass on the folder's rights, with no query."""
    chain = ancestry(session, folder)
    inherit = labels.not_above(labels.rank(labels.effective_label(chain)))
    if inherit is None:
        return list(rows)
    shown = []
    for row in rows:
        if row.classification in inherit:
            shown.append(row)
            continue
        child = session.get(Item, row.id)
        if child is not None and can(actor, Action.SEE, [*chain, child]):
            shown.append(row)
    return shown


def visible_children(session: Session, actor: Actor, folder: Item, children: Sequence[Item]) -> list[Item]:
    """The children of a folder the actor may see (the folder itself was loaded through `access_*`).

    Rights are inherited, so a child differs from its folder only when its label is higher than the
    folder's: only those are put to `can()`, which keeps a page of a huge folder one query."""
    chain = ancestry(session, folder)
    floor = labels.rank(labels.effective_label(chain))
    return [
        child
        for child in children
        if labels.rank(child.classification) <= floor or can(actor, Action.SEE, [*chain, child])
    ]
