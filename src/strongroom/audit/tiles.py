"""Stored Merkle tree nodes (tiles), so proofs and roots read O(log n) rows instead of the whole log.

Layout (models.AuditTile): a tile of level L holds 16 consecutive node hashes of tree height 4L.
Level 0 holds leaf hashes; the root of a level-L tile (a node of height 4L+4) is one hash of level
L+1. A tile is stored once, when it is complete, and never changes (a complete subtree never does);
the rightmost, partial tile of each level is recomputed from below when a proof needs it (at most 15
event hashes or 15 tiles), so chaining writes one row per 16 events and nothing is ever rewritten. The tree is
exactly RFC 6962's (chain.MerkleTree): `TiledTree` answers the same proofs from stored nodes.

Tiles are written by the sequencer in the transaction that chains the events, so they always cover
exactly the chained events (`audit_head.seq`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from sqlalchemy import BigInteger, Connection, any_, bindparam, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from strongroom.audit import chain
from strongroom.audit.models import AuditEvent, AuditTile, table_of

TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT
_H = chain.HASH_SIZE
_FULL = TILE_WIDTH * _H
_NODE = chain.NODE_PREFIX


def _perfect_root(hashes: bytes) -> bytes:
    """Root of a perfect subtree whose bottom nodes are `hashes` (a power of two of them)."""
    level = hashes
    while len(level) > _H:
        level = b"".join(
            chain.node_hash(level[i : i + _H], level[i + _H : i + 2 * _H])
            for i in range(0, len(level), 2 * _H)
        )
    return level


Frontier = dict[int, list[bytes]]
"""The nodes of each level's rightmost, partial tile (level -> its nodes so far), as the sequencer
last left them: passing it back saves reading them again from the database on every pass."""


def append_leaves(
    connection: Connection, *, old_size: int, leaves: list[bytes], frontier: Frontier | None = None
) -> Frontier:
    """Store every tile that leaves old_size.. (just chained) complete, at every level; the new frontier.

    `frontier` must be the one returned for this exact tree of `old_size` leaves (the caller checks
    the head's size and hash), or None: levels it lacks are read back from below."""
    known = frontier or {}
    after: Frontier = {}
    level, start, new = 0, old_size, leaves
    while new:
        offset = start % TILE_WIDTH
        # The rightmost tile is never stored while partial: what it would hold so far is read back
        # from below (event hashes, or the roots of complete tiles a level down), unless known.
        held = known.get(level, []) if offset else []
        if len(held) != offset:
            held = _below(connection, level, start - offset, start)
        data = held + new
        rows, completed = [], []
        full = len(data) - len(data) % TILE_WIDTH
        for position in range(0, full, TILE_WIDTH):
            chunk = b"".join(data[position : position + TILE_WIDTH])
            rows.append({"level": level, "idx": (start - offset + position) // TILE_WIDTH, "hashes": chunk})
            completed.append(_perfect_root(chunk))
        if rows:
            connection.execute(_INSERT_TILE, rows)
        after[level] = data[full:]
        level, start, new = level + 1, start // TILE_WIDTH, completed
    # Levels above the last one touched did not change.
    after.update((above, nodes) for above, nodes in known.items() if above >= level)
    return after


_TILE = table_of(AuditTile)
_EVENT = table_of(AuditEvent)
_INSERT_TILE = insert(_TILE)


def _below(connection: Connection, level: int, first: int, end: int) -> list[bytes]:
    """The nodes first..end-1 of height 4*level, from what is stored beneath them."""
    if level == 0:
        hashes = connection.execute(
            select(_EVENT.c.hash).where(_EVENT.c.seq > first, _EVENT.c.seq <= end).order_by(_EVENT.c.seq)
        ).scalars()
        return [chain.event_leaf(h) for h in hashes]
    tiles = connection.execute(
        select(_TILE.c.hashes)
        .where(_TILE.c.level == level - 1, _TILE.c.idx >= first, _TILE.c.idx < end)
        .order_by(_TILE.c.idx)
    ).scalars()
    return [_perfect_root(bytes(raw)) for raw in tiles]


def rebuild(connection: Connection, hashes: Iterable[str]) -> int:
    """Store the tiles of a whole log from its chain hashes in seq order (migration 0009); its size."""
    size, batch = 0, []
    for digest in hashes:
        batch.append(chain.event_leaf(digest))
        if len(batch) == 4096:
            append_leaves(connection, old_size=size, leaves=batch)
            size, batch = size + len(batch), []
    if batch:
        append_leaves(connection, old_size=size, leaves=batch)
        size += len(batch)
    return size


class TiledTree(chain.MerkleTree):
    """The first `size` leaves of the stored tree: roots, inclusion and consistency proofs from tiles.

    Tiles read are kept (with the nodes computed inside them) for the life of the object, so many
    proofs into one tree size share the upper tiles; `prefetch` reads the tiles a set of proofs needs
    in a few queries.
    """

    def __init__(self, session: Session, size: int) -> None:
        self.session = session
        self.size = size
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self._roots: dict[tuple[int, int], bytes] = {}
        self._edge: dict[tuple[int, int], str] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        levels = self._tiles.get((level, index))
        if levels is None:
            raw = self.session.scalar(
                select(AuditTile.hashes).where(AuditTile.level == level, AuditTile.idx == index)
            )
            if raw is None:  # the rightmost tile of its level, not stored until it is complete
                first = index * TILE_WIDTH
                raw = b"".join(_below(self.session.connection(), level, first, first + TILE_WIDTH))
            levels = self._keep(level, index, bytes(raw))
        return levels

    def _keep(self, level: int, index: int, raw: bytes) -> list[bytes]:
        # levels[r] = the tile's nodes of height 4*level + r, as packed bytes (complete pairs only).
        levels = [raw]
        sha256 = hashlib.sha256
        while len(levels[-1]) >= 2 * _H and len(levels) < TILE_HEIGHT:
            below = levels[-1]
            # node_hash of each pair, with one slice a pair: a report hashes ~14 nodes a tile read.
            pairs = len(below) - len(below) % (2 * _H)
            levels.append(
                b"".join([sha256(_NODE + below[i : i + 2 * _H]).digest() for i in range(0, pairs, 2 * _H)])
            )
        self._tiles[(level, index)] = levels
        return levels

    def inclusion_path_hex(self, index: int, size: int) -> list[str]:
        """`inclusion_proof(index, size)` as hex."""
        return next(self.inclusion_paths_hex([index], size))

    def inclusion_paths_hex(self, indices: Iterable[int], size: int) -> Iterator[list[str]]:
        """`inclusion_proof(index, size)` as hex for each index, computed without the general recursion:
        below the first step down to the left every sibling is a perfect subtree (one tile slice); only
        the siblings on the tree's right edge are not, and those are shared by every proof (cached).

        Each proof starts by walking the steps of the one before for as long as it goes the same way
        at each: the same steps give the same siblings. A custody report's events, in seq order, share
        about half of their 24 steps in a log of 10,000,000."""
        # The last proof's steps from the root down: (where the step splits, went left, the sibling,
        # and the range of leaves it went into).
        steps: list[tuple[int, bool, str, int, int]] = []
        for index in indices:
            if not 0 <= index < size <= self.size:
                msg = f"no leaf {index} in a tree of {size}"
                raise ValueError(msg)
            depth = 0
            for split, left, _sibling, _lo, _hi in steps:
                if (index < split) != left:
                    break
                depth += 1
            del steps[depth:]
            lo, hi = (steps[-1][3], steps[-1][4]) if steps else (0, size)
            while hi - lo > 1:
                width = hi - lo
                k = 1 << ((width - 1).bit_length() - 1)
                split = lo + k
                if index < split:
                    # The sibling is the right part: the tree's right edge, or a perfect subtree.
                    edge = width & (width - 1)
                    right = self._edge_hex(split, hi) if edge else self._perfect(split, k).hex()
                    steps.append((split, True, right, lo, split))
                    hi = split
                else:
                    steps.append((split, False, self._perfect(lo, k).hex(), split, hi))
                    lo = split
            path = [step[2] for step in steps]
            path.reverse()
            yield path

    def _edge_hex(self, lo: int, hi: int) -> str:
        key = (lo, hi)
        node = self._edge.get(key)
        if node is None:
            node = self._edge[key] = self.subtree_root(lo, hi).hex()
        return node

    def subtree_root(self, lo: int, hi: int) -> bytes:
        # Proofs into one tree size share their right-hand subtrees: compute each once.
        key = (lo, hi)
        root = self._roots.get(key)
        if root is None:
            root = self._roots[key] = super().subtree_root(lo, hi)
        return root

    def _perfect(self, start: int, size: int) -> bytes:
        height = size.bit_length() - 1
        index = start >> height
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest  # the subtree's leftmost node at height 4*level
        levels = self._tile(level, first // TILE_WIDTH)
        position = (first % TILE_WIDTH) >> rest
        node = levels[rest][position * _H : (position + 1) * _H] if rest < len(levels) else b""
        if len(node) != _H:
            msg = f"the stored tree has no node at height {height}, index {index}: tiles are missing"
            raise LookupError(msg)
        return node

    def prefetch(self, indices: Iterable[int]) -> None:
        """Read, in a few queries, the tiles that inclusion proofs of these leaf indices pass through."""
        wanted: dict[int, set[int]] = {}
        levels = max(1, (max(self.size - 1, 1).bit_length() + TILE_HEIGHT - 1) // TILE_HEIGHT)
        for index in indices:
            for level in range(levels):
                tile = index >> (TILE_HEIGHT * (level + 1))
                if (level, tile) not in self._tiles:
                    wanted.setdefault(level, set()).add(tile)
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        for level, tiles in wanted.items():
            ordered = sorted(tiles)
            # On PostgreSQL one array parameter: an IN list of hundreds of placeholders costs the
            # driver more CPU to parse than the rows cost to read.
            step = len(ordered) if postgresql else 500
            for chunk in range(0, len(ordered), max(step, 1)):
                part = ordered[chunk : chunk + step]
                wanted_idx = (
                    AuditTile.idx == any_(bindparam("tiles", part, type_=ARRAY(BigInteger)))
                    if postgresql
                    else AuditTile.idx.in_(part)
                )
                rows = self.session.execute(
                    select(AuditTile.idx, AuditTile.hashes).where(AuditTile.level == level, wanted_idx)
                )
                for tile, raw in rows:
                    self._keep(level, tile, bytes(raw))
