"""What a unit of work gathers for its commit (audit events, on-commit hooks), kept in step with its
savepoints.

SQLAlchemy fires `before_commit`/`after_commit` when a savepoint (`session.begin_nested()`) is
released too, and `after_soft_rollback` when one rolls back. What a unit gathers belongs to the whole
unit, so it leaves the session only when the outermost transaction commits (`outermost`), and a
savepoint that rolls back takes back only what was added inside it: the unit may go on and commit,
and its earlier changes must keep their events. The outermost rollback drops everything. (A flush
that fails rolls back a subtransaction of its own first: that one is neither, and changes nothing.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_LISTS = "strongroom.unit_lists"
_MARKS = "strongroom.savepoint_marks"


def unit_list(session: Session, key: str) -> list[Any]:
    """The unit's list under `key`, created empty on first use."""
    lists: dict[str, list[Any]] = session.info.setdefault(_LISTS, {})
    found = lists.get(key)
    if found is None:
        found = lists[key] = []
    return found


def take_unit_list(session: Session, key: str) -> list[Any]:
    """The unit's list under `key`, emptied out of the session (an empty list if there was none)."""
    lists: dict[str, list[Any]] | None = session.info.get(_LISTS)
    return (lists.pop(key, None) if lists else None) or []


def outermost(session: Session) -> bool:
    """Whether the transaction committing now is the unit's own, not a savepoint inside it. Right
    inside `before_commit`/`after_commit`: `_Unit.run` refuses to commit over an open savepoint."""
    return not session.in_nested_transaction()


def unit_rolled_back(transaction: SessionTransaction) -> bool:
    """Whether a transaction `after_soft_rollback` reports is the unit's own, not a savepoint or a
    failed flush's subtransaction inside it."""
    return transaction.parent is None


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        lists: dict[str, list[Any]] = session.info.get(_LISTS, {})
        session.info.setdefault(_MARKS, []).append({key: len(items) for key, items in lists.items()})


@event.listens_for(Session, "after_commit")
def _release_savepoint(session: Session) -> None:
    marks: list[dict[str, int]] | None = session.info.get(_MARKS)
    if marks and not outermost(session):
        marks.pop()  # what the savepoint added stays with the unit


@event.listens_for(Session, "after_soft_rollback")
def _take_back(session: Session, previous: SessionTransaction) -> None:
    if previous.nested:
        marks: list[dict[str, int]] = session.info.get(_MARKS) or [{}]
        mark = marks.pop()
        for key, items in session.info.get(_LISTS, {}).items():
            del items[mark.get(key, 0) :]
    elif unit_rolled_back(previous):
        session.info.pop(_LISTS, None)
        session.info.pop(_MARKS, None)
    # Else a failed flush's own subtransaction: the savepoint or the unit around it rolls back next.
