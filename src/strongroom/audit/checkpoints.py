"""Signed checkpoints over the event log, and the inclusion and consistency proofs built on them.

A checkpoint's signed note follows the shape of a C2SP tlog checkpoint (origin line, tree size,
base64 root hash) with one extension line for the time it was made:

    <origin>\\n<tree size>\\n<base64 root>\\ntime <ISO 8601 UTC>\\n

The signature is Ed25519 over exactly those bytes. Signing happens outside this package (the key
provider lives in storage, above audit): callers pass `sign` and the public key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.audit import chain, sequencer, tiles
from strongroom.audit.models import AuditEvent, AuditHead, Checkpoint
from strongroom.errors import Conflict, InputError

Signer = Callable[[bytes], bytes]


class CheckpointTampered(Conflict):
    """The latest stored checkpoint does not match its own signature or frontier: refuse to extend it."""

    code = "audit_checkpoint_tampered"


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def note(*, origin: str, tree_size: int, root_hash: str, created_at: datetime) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    root_b64 = base64.b64encode(bytes.fromhex(root_hash)).decode()
    when = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{origin}\n{tree_size}\n{root_b64}\ntime {when}\n".encode()


def signature_valid(record: dict[str, Any], public_key: bytes) -> bool:
    """Does `record` (a checkpoint as exported) carry a valid signature by `public_key`?"""
    try:
        message = note(
            origin=record["origin"],
            tree_size=int(record["tree_size"]),
            root_hash=record["root_hash"],
            created_at=datetime.fromisoformat(record["created_at"]),
        )
        Ed25519PublicKey.from_public_bytes(public_key).verify(bytes.fromhex(record["signature"]), message)
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


def as_record(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as exported to files, syslog and witnesses (the frontier stays home)."""
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "head_hash": checkpoint.head_hash,
        "origin": checkpoint.origin,
        "created_at": checkpoint.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "key_id": checkpoint.key_id,
        "public_key": checkpoint.public_key,
        "signature": checkpoint.signature,
    }


def latest(session: Session) -> Checkpoint | None:
    return session.execute(
        select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(1)
    ).scalar_one_or_none()


def list_checkpoints(session: Session, *, limit: int, before: int | None = None) -> list[Checkpoint]:
    """Newest first; `before` is a tree size from the previous page."""
    query = select(Checkpoint).order_by(Checkpoint.tree_size.desc()).limit(limit)
    if before is not None:
        query = query.where(Checkpoint.tree_size < before)
    return list(session.execute(query).scalars())


def _trusted_frontier(previous: Checkpoint, trusted: Collection[bytes]) -> chain.CompactRange:
    frontier = chain.CompactRange(
        previous.tree_size, [bytes.fromhex(h) for h in json.loads(previous.frontier)]
    )
    # The previous checkpoint may have been signed by a key the installation has since rotated away
    # from; it is trusted if a key the signing key's history holds signed it.
    signed = any(signature_valid(as_record(previous), key) for key in trusted)
    if frontier.root().hex() != previous.root_hash or not signed:
        raise CheckpointTampered(
            f"The checkpoint at tree size {previous.tree_size} does not match its signature or frontier; "
            "run `strongroom audit verify` on an export and compare with the witness copies."
        )
    return frontier


def make_checkpoint(
    session: Session,
    *,
    sign: Signer,
    public_key: bytes,
    origin: str,
    at: datetime,
    earlier_keys: Collection[bytes] = (),
) -> Checkpoint | None:
    """Sign a checkpoint over every event committed so far; None if nothing happened since the last.
    `earlier_keys` are public keys the installation signed with before a signing-key rotation.

    Holds the audit head lock while it reads, so two checkpoint makers (or a maker and an append)
    cannot interleave. Raises CheckpointTampered if the previous checkpoint was altered.
    """
    # Chain what has committed first, so the checkpoint covers every event recorded before it.
    while sequencer.chain_pending(session.connection()) == sequencer.PASS_LIMIT:
        pass
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    size = head.seq if head else 0
    previous = latest(session)
    done = previous.tree_size if previous else 0
    if size == 0 or size <= done:
        return None
    frontier = _trusted_frontier(previous, {public_key, *earlier_keys}) if previous else chain.CompactRange()
    hashes = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq > done, AuditEvent.seq <= size)
        .order_by(AuditEvent.seq)
    ).all()
    expected = done
    for seq, digest in hashes:
        expected += 1
        if seq != expected:
            raise CheckpointTampered(
                f"Event {expected} is missing from the log; refusing to sign a checkpoint."
            )
        frontier.append(chain.event_leaf(digest))
    if expected != size:
        raise CheckpointTampered(f"The log ends at event {expected}, but its head says {size}.")
    root = frontier.root().hex()
    created_at = at.astimezone(UTC)
    signature = sign(note(origin=origin, tree_size=size, root_hash=root, created_at=created_at))
    checkpoint = Checkpoint(
        tree_size=size,
        root_hash=root,
        head_hash=hashes[-1][1],
        origin=origin,
        created_at=created_at,
        key_id=key_id(public_key),
        public_key=public_key.hex(),
        signature=signature.hex(),
        frontier=json.dumps([node.hex() for node in frontier.nodes]),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def load_tree(session: Session, size: int) -> tiles.TiledTree:
    """The stored tree over events 1..size (O(log n) tile reads a proof). Raises InputError past the head."""
    held = head_size(session)
    if held < size:
        raise InputError(f"The log holds {held} events, fewer than {size}.", tree_size=held)
    return tiles.TiledTree(session, size)


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_index: int
    event_hash: str
    root_hash: str
    audit_path: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "leaf_index": self.leaf_index,
            "event_hash": self.event_hash,
            "root_hash": self.root_hash,
            "audit_path": self.audit_path,
        }


def head_size(session: Session) -> int:
    head = session.get(AuditHead, 1)
    return head.seq if head else 0


def inclusion_proof(session: Session, *, seq: int, tree_size: int) -> InclusionProof:
    """Proof that event `seq` is leaf seq-1 of the tree of `tree_size` events. Raises InputError."""
    if not 1 <= seq <= tree_size:
        raise InputError("Need 1 <= seq <= tree_size.", seq=seq, tree_size=tree_size)
    if tree_size > head_size(session):
        raise InputError("tree_size is larger than the log.", tree_size=tree_size)
    event_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    if event_hash is None:
        raise InputError(f"The log has no event {seq}.", seq=seq)
    return inclusion_proof_from(load_tree(session, tree_size), seq=seq, event_hash=event_hash)


def inclusion_proof_from(tree: tiles.TiledTree, *, seq: int, event_hash: str) -> InclusionProof:
    index = seq - 1
    return InclusionProof(
        seq=seq,
        tree_size=tree.size,
        leaf_index=index,
        event_hash=event_hash,
        root_hash=tree.root().hex(),
        audit_path=[p.hex() for p in tree.inclusion_proof(index, tree.size)],
    )


def consistency_proof(session: Session, *, first: int, second: int) -> dict[str, Any]:
    """Proof that the log of `first` events is a prefix of the log of `second`. Raises InputError."""
    if not 1 <= first <= second:
        raise InputError("Need 1 <= first <= second.", first=first, second=second)
    if second > head_size(session):
        raise InputError("second is larger than the log.", second=second)
    tree = load_tree(session, second)
    return {
        "first": first,
        "second": second,
        "first_root": tree.root(first).hex(),
        "second_root": tree.root(second).hex(),
        "proof": [p.hex() for p in tree.consistency_proof(first, second)],
    }
