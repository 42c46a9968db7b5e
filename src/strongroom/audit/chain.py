"""The hash chain: how one event's hash is computed from its content and the previous hash.

The canonical form is part of the evidence format: changing it breaks every existing chain.
"""

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_payload(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: every field but the hash itself, canonical JSON, UTF-8."""
    return canonical_json({k: v for k, v in fields.items() if k != "hash"}).encode()


def chain_hash(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()


# RFC 6962 (Certificate Transparency) Merkle tree hashing, section 2.1, with SHA-256. Leaves and
# inner nodes get different one-byte prefixes so that a leaf can never pass for an inner node.
#
# A leaf of Strongroom's tree is the 32 raw bytes of one event's chain hash (the hash the chain
# recomputes from the event's content). The chain already commits to every field, so the tree needs
# nothing more; proofs stay small and a verifier recomputes each leaf from the event itself.

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def event_leaf(chain_hash_hex: str) -> bytes:
    """The Merkle leaf hash of an event, from its hex chain hash."""
    return leaf_hash(bytes.fromhex(chain_hash_hex))


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where RFC 6962 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.

    Appending a leaf costs O(1) amortised and the root is O(log n), so a checkpoint can extend the
    previous one without reading every event again, and a verifier can stream a million events.
    """

    def __init__(self, size: int = 0, nodes: list[bytes] | None = None) -> None:
        self.size = size
        self.nodes: list[bytes] = list(nodes or [])
        if len(self.nodes) != self.size.bit_count():
            msg = f"a compact range of {size} leaves has {size.bit_count()} nodes, not {len(self.nodes)}"
            raise ValueError(msg)

    def append(self, leaf: bytes) -> None:
        self.nodes.append(leaf)
        # Each trailing 1 bit of the old size is a subtree of equal height: merge it with the new one.
        size = self.size
        while size & 1:
            right = self.nodes.pop()
            self.nodes[-1] = node_hash(self.nodes[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root


class MerkleTree:
    """A whole tree in memory, level by level (each level one `bytes` of packed 32-byte hashes), to
    answer many proofs quickly. An odd node at the end of a level is carried up unchanged, which
    gives exactly RFC 6962's tree for any size."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.size = len(leaves)
        level = b"".join(leaves)
        self.levels: list[bytes] = [level]
        while len(level) > HASH_SIZE:
            count = len(level) // HASH_SIZE
            pairs = [
                hashlib.sha256(NODE_PREFIX + level[i : i + 64]).digest()
                for i in range(0, (count - 1) * 32, 64)
            ]
            if count % 2:
                pairs.append(level[-HASH_SIZE:])
            level = b"".join(pairs)
            self.levels.append(level)

    def _perfect(self, start: int, size: int) -> bytes:
        height = size.bit_length() - 1
        index = start >> height
        return self.levels[height][index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def subtree_root(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for the ranges RFC 6962's recursion produces (lo a multiple of the split)."""
        n = hi - lo
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0:
            return self._perfect(lo, n)
        k = _split(n)
        return node_hash(self._perfect(lo, k), self.subtree_root(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree_root(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 6962 PATH(index, D[0:size]): sibling hashes from the leaf upwards."""
        if not 0 <= index < size <= self.size:
            msg = f"no leaf {index} in a tree of {size}"
            raise ValueError(msg)
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self.subtree_root(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.subtree_root(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """RFC 6962 PROOF(first, D[0:second]): shows the tree of `first` leaves is a prefix of `second`."""
        if not 0 <= first <= second <= self.size:
            msg = f"no consistency proof from {first} to {second} in a tree of {self.size}"
            raise ValueError(msg)
        if first in (0, second):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, second, first, True
        while m != hi - lo:
            k = _split(hi - lo)
            if m <= k:
                proof.append(self.subtree_root(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.subtree_root(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        if not complete:
            proof.append(self.subtree_root(lo, hi))
        proof.reverse()
        return proof


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """The root that `proof` leads to from `leaf` at `index`, or None if the proof has the wrong
    shape (RFC 9162 section 2.1.3.2)."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    return root_from_inclusion_proof(index, size, leaf, proof) == root


def verify_consistency(  # noqa: C901 - RFC 9162 2.1.4.2 step by step, kept as written there
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of `first` leaves with `first_root` a prefix of the tree
    of `second` leaves with `second_root`?"""
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root
