"""Rename, move and copy files and folders; read an item's details."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access import labels
from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, access_item, ancestry, effective_label
from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.folders import check_depth, flush_name, ref
from strongroom.content.locks import ensure_unlocked_for
from strongroom.content.models import File, FileVersion, Folder, Item
from strongroom.content.names import clean_name, name_key
from strongroom.content.versions import version_sharing_blob
from strongroom.db.base import new_id
from strongroom.errors import InputError, NotFound, VersionChanged

MAX_COPY_ITEMS = 10_000


def ensure_etag_matches(item: Item, expected: str | None) -> None:
    if expected is not None and expected not in {"*", item.etag}:
        raise VersionChanged("The item changed since you read it; reload and try again.", etag=item.etag)


def get_item(session: Session, actor: Actor, *, item_id: str) -> Item:
    """An item's details. Raises NotFound."""
    return access_item(session, actor, item_id, Action.SEE)


def rename_item(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    new_name: str,
    clock: Clock,
    expected_etag: str | None = None,
) -> Item:
    """Rename a file or folder in its folder.

    Raises NotFound, NameInvalid, NameTaken, ItemLocked, VersionChanged."""
    item = access_item(session, actor, item_id, Action.EDIT)
    if item.parent_id is None:
        raise InputError("A root folder cannot be renamed.")
    ensure_etag_matches(item, expected_etag)
    now = clock.now()
    ensure_unlocked_for(item, actor, now=now)
    clean = clean_name(new_name)
    old = item.name
    item.name, item.name_key = clean, name_key(clean)
    item.updated_at = now
    item.revision += 1
    flush_name(session, item)
    events.record(
        session, actor, AuditAction.ITEM_RENAMED, item=ref(item), details={"from": old, "to": clean}, at=now
    )
    return item


def move_item(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    target_folder_id: str,
    clock: Clock,
    new_name: str | None = None,
    expected_etag: str | None = None,
    max_depth: int = 64,
) -> Item:
    """Move an item into another folder (optionally renaming it). Raises NotFound, InputError (into itself),
    NameTaken, ItemLocked, VersionChanged."""
    item = access_item(session, actor, item_id, Action.DELETE)
    if item.parent_id is None:
        raise InputError("A root folder cannot be moved.")
    target = access_folder(session, actor, target_folder_id, Action.UPLOAD)
    ensure_etag_matches(item, expected_etag)
    if any(node.id == item.id for node in ancestry(session, target)):
        raise InputError("A folder cannot be moved into itself or one of its subfolders.")
    check_depth(session, target, max_depth=max_depth)
    now = clock.now()
    ensure_unlocked_for(item, actor, now=now)
    old_parent = item.parent_id
    item.parent_id = target.id
    if new_name is not None:
        clean = clean_name(new_name)
        item.name, item.name_key = clean, name_key(clean)
    item.updated_at = now
    item.revision += 1
    flush_name(session, item)
    events.record(
        session,
        actor,
        AuditAction.ITEM_MOVED,
        item=ref(item),
        details={"from_folder_id": old_parent, "to_folder_id": target.id},
        at=now,
    )
    return item


# Called with (session, source id, copy id) for every item a copy makes, so that domains above content
# (search: metadata) copy what they keep about an item without content knowing them.
COPY_LISTENERS: list[Callable[[Session, str, str], None]] = []


def copy_item(
    session: Session,
    actor: Actor,
    *,
    item_id: str,
    target_folder_id: str,
    clock: Clock,
    new_name: str | None = None,
) -> Item:
    """Copy a file (its current version) or a folder tree into a folder. Copies share the sealed blobs of
    their originals (no bytes are re-encrypted). Raises NotFound, NameTaken, InputError."""
    source = access_item(session, actor, item_id, Action.DOWNLOAD)
    target = access_folder(session, actor, target_folder_id, Action.UPLOAD)
    if source.is_folder and any(node.id == source.id for node in ancestry(session, target)):
        raise InputError("A folder cannot be copied into itself.")
    now = clock.now()
    name = clean_name(new_name) if new_name is not None else source.name
    budget = [MAX_COPY_ITEMS]
    copy = _copy_node(session, actor, source, target, name=name, now=now, budget=budget)
    events.record(
        session,
        actor,
        AuditAction.ITEM_COPIED,
        item=ref(copy),
        details={"source_id": source.id, "to_folder_id": target.id, "items": MAX_COPY_ITEMS - budget[0]},
        at=now,
    )
    return copy


def _copy_node(
    session: Session, actor: Actor, source: Item, parent: Item, *, name: str, now: datetime, budget: list[int]
) -> Item:

    budget[0] -= 1
    if budget[0] < 0:
        raise InputError(f"A copy may hold at most {MAX_COPY_ITEMS} items; copy the subfolders one by one.")
    cls = Folder if source.is_folder else File
    copy = cls(
        id=new_id("fo" if source.is_folder else "fi"),
        sort_group=source.sort_group,
        parent_id=parent.id,
        owner_id=parent.owner_id,
        name=name,
        name_key=name_key(name),
        created_at=now,
        updated_at=now,
        created_by_id=actor.user_id,
        size=source.size,
        sha256=source.sha256,
        content_type=source.content_type,
        scan_status=source.scan_status,
        # A copy is never classified lower than its original, nor than the folder it lands in.
        classification=labels.highest([source.classification, effective_label(session, parent)]),
    )
    session.add(copy)
    flush_name(session, copy)
    if isinstance(source, File) and source.current_version_id:
        original = session.get(FileVersion, source.current_version_id)
        if original is None:
            raise NotFound("version", source.current_version_id)
        version = version_sharing_blob(original, file_id=copy.id, number=1, actor=actor, now=now)
        session.add(version)
        copy.current_version_id = version.id
    elif source.is_folder:
        children = session.scalars(select(Item).where(Item.parent_id == source.id, Item.trashed_at.is_(None)))
        for child in list(children):
            _copy_node(session, actor, child, copy, name=child.name, now=now, budget=budget)
    for listener in COPY_LISTENERS:
        listener(session, source.id, copy.id)
    return copy
