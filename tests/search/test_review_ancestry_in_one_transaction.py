"""`access.loaders.ancestry` keeps the path it loaded for the rest of the transaction: a move, a trash
or a label change made earlier in that same transaction must still change the next answer."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_item
from strongroom.actors import Actor, ActorKind
from strongroom.content.models import File, Folder, Item
from strongroom.content.names import name_key
from strongroom.db.base import new_id
from strongroom.db.session import transaction
from strongroom.errors import NotFound
from strongroom.identity.models import Group, GroupMember
from strongroom.runtime import Runtime
from strongroom.sharing.models import Grant
from tests.support.users import UserFixture

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _item(kind: type[Item], parent: str, owner: str, name: str) -> Item:
    return kind(
        id=new_id("fo" if kind is Folder else "fi"),
        sort_group=0 if kind is Folder else 1,
        parent_id=parent,
        owner_id=owner,
        name=name,
        name_key=name_key(name),
        created_at=NOW,
        updated_at=NOW,
        size=0,
    )


def _moved(session: Session, items: dict[str, Item]) -> None:
    items["file"].parent_id = items["private"].id


def _trashed(session: Session, items: dict[str, Item]) -> None:
    items["middle"].trashed_at = NOW


def _labelled(session: Session, items: dict[str, Item]) -> None:
    items["shared"].classification = "SECRET"


@pytest.mark.parametrize("change", [_moved, _trashed, _labelled], ids=["moved", "trashed", "labelled"])
def test_a_change_earlier_in_the_transaction_is_seen(
    runtime: Runtime, alice: UserFixture, bob: UserFixture, change: Callable[[Session, dict[str, Item]], None]
) -> None:
    with transaction(runtime.sessions) as session:
        group = Group(id=new_id("gp"), name="MIT", name_key="mit", created_at=NOW)
        session.add(group)
        session.flush()
        session.add(GroupMember(group_id=group.id, user_id=bob.id, added_at=NOW))
        shared = _item(Folder, alice.root_id, alice.id, "shared")
        private = _item(Folder, alice.root_id, alice.id, "private")
        session.add_all([shared, private])
        session.flush()
        middle = _item(Folder, shared.id, alice.id, "middle")
        session.add(middle)
        session.flush()
        file = _item(File, middle.id, alice.id, "statement.pdf")
        session.add(file)
        session.add(
            Grant(id=new_id("gr"), item_id=shared.id, group_id=group.id, role="viewer", created_at=NOW)
        )
        group_id, file_id = group.id, file.id
        items = {"shared": shared, "private": private, "middle": middle, "file": file}
    bobs = Actor(kind=ActorKind.USER, id=bob.id, label=bob.email, group_ids=frozenset({group_id}))
    with transaction(runtime.sessions) as session:
        # First the check alone, so that it loads (and keeps) the path itself.
        assert access_item(session, bobs, file_id, Action.SEE).id == file_id
        items = {key: session.get(Item, item.id) for key, item in items.items()}  # type: ignore[misc]
        change(session, items)
        with pytest.raises(NotFound):
            access_item(session, bobs, file_id, Action.SEE)
