"""Rules that need time to pass: trash retention and lock lapses (service level, adjustable clock)."""

from datetime import timedelta

import pytest

from strongroom.config import Settings
from strongroom.content import files, folders, locks, trash
from strongroom.db.session import transaction
from strongroom.errors import ItemLocked, NotFound
from strongroom.jobs import tasks
from strongroom.runtime import Runtime
from tests.support.clock import AdjustableClock
from tests.support.users import make_user


@pytest.fixture
def clocked(settings: Settings) -> tuple[Runtime, AdjustableClock]:
    clock = AdjustableClock()
    return Runtime.build(settings, clock=clock), clock


def test_trash_is_purged_after_the_retention_period_and_not_before(
    clocked: tuple[Runtime, AdjustableClock],
) -> None:
    runtime, clock = clocked
    alice = make_user(runtime, "alice@force.police.test")
    with transaction(runtime.sessions) as session:
        folder = folders.create_folder(
            session, alice.actor, parent_id=alice.root_id, name="Old case", clock=clock
        )
        trash.trash_item(session, alice.actor, item_id=folder.id, clock=clock)
    clock.advance(timedelta(days=29))
    tasks.purge_expired_trash(runtime)
    with transaction(runtime.sessions) as session:
        assert [i.name for i in trash.list_trash(session, alice.actor)] == ["Old case"]
    clock.advance(timedelta(days=2))
    tasks.purge_expired_trash(runtime)
    with transaction(runtime.sessions) as session:
        assert trash.list_trash(session, alice.actor) == []
        with pytest.raises(NotFound):
            trash.restore_item(session, alice.actor, item_id=folder.id, clock=clock)
    runtime.close()


def test_a_lock_blocks_others_until_it_lapses(clocked: tuple[Runtime, AdjustableClock]) -> None:
    runtime, clock = clocked
    alice = make_user(runtime, "alice@force.police.test")
    with transaction(runtime.sessions) as session:
        folder = folders.create_folder(
            session, alice.actor, parent_id=alice.root_id, name="Statements", clock=clock
        )
    # The owner's own lock does not block the owner; model another editor with a lock held by someone else.
    with transaction(runtime.sessions) as session:
        item = files.get_item(session, alice.actor, item_id=folder.id)
        item.locked_by_id = "u_someone_else"
        item.locked_until = clock.now() + timedelta(minutes=30)
    with transaction(runtime.sessions) as session, pytest.raises(ItemLocked):
        files.rename_item(session, alice.actor, item_id=folder.id, new_name="Witness statements", clock=clock)
    clock.advance(timedelta(minutes=31))
    with transaction(runtime.sessions) as session:
        renamed = files.rename_item(
            session, alice.actor, item_id=folder.id, new_name="Witness statements", clock=clock
        )
        assert renamed.name == "Witness statements"
    assert timedelta(days=7) == locks.MAX_LOCK
    runtime.close()
