from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, IdColumn, UTCDateTime


class AuditEvent(Base):
    """One thing that happened. Rows are only ever inserted; `seq` has no gaps and `hash` chains each
    event to the one before it. Item columns are copies, so events outlive the items they describe."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_item", "item_id", "seq"),
        Index("ix_audit_event_actor", "actor_id", "seq"),
        Index("ix_audit_event_action", "action", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(IdColumn())
    actor_label: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    action: Mapped[str] = mapped_column(String(64))
    item_kind: Mapped[str | None] = mapped_column(String(32))
    item_id: Mapped[str | None] = mapped_column(IdColumn())
    item_name: Mapped[str | None] = mapped_column(String(1024))
    details: Mapped[str] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PendingAuditEvent(Base):
    """An event committed with the change it records but not chained yet (audit/sequencer.py).

    Writers only insert here, so they never wait on one another; the sequencer moves rows into
    `audit_event` in batches, in `id` order as far as it can see them, giving each its seq and hash.
    Same columns as AuditEvent, less what chaining adds."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(IdColumn())
    actor_label: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    action: Mapped[str] = mapped_column(String(64))
    item_kind: Mapped[str | None] = mapped_column(String(32))
    item_id: Mapped[str | None] = mapped_column(IdColumn())
    item_name: Mapped[str | None] = mapped_column(String(1024))
    details: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class AuditTile(Base):
    """Stored Merkle tree nodes, as transparency logs store tiles (C2SP tlog-tiles, narrower).

    A tile of `level` L and index N holds the hashes of tree height 4L, nodes 16N .. 16N+15, packed
    32 bytes each, stored once complete. Every node of a complete subtree is then one tile read plus
    at most 15 hashes away, so a proof reads O(log n) rows (audit/tiles.py)."""

    __tablename__ = "audit_tile"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class AuditHead(Base):
    """The single row that serialises appends: the last sequence number and hash. Updating it takes a
    row lock (PostgreSQL) or the write lock (SQLite), so concurrent writers keep one order."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Checkpoint(Base):
    """A signed tree head: the RFC 6962 Merkle root over events 1..tree_size, signed with the audit
    Ed25519 key. Copies go to outside witnesses, so rewriting history also means forging these."""

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    head_hash: Mapped[str] = mapped_column(String(64))  # chain hash of event `tree_size`
    origin: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(64))  # raw Ed25519 key, hex
    signature: Mapped[str] = mapped_column(String(128))  # Ed25519 over the checkpoint note, hex
    # The compact range (hex hashes, largest subtree first): lets the next checkpoint extend this one
    # without reading every event again. Not signed; checked against root_hash before it is used.
    frontier: Mapped[str] = mapped_column(Text)


def table_of(model: type[Base]) -> Table:
    """The Core table of a model, for hot statements that skip the ORM's per-row work."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
