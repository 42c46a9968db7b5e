"""Offline verification of a custody bundle, and of its completeness against a full export.

A bundle vouches only for what it proves: an event counts when its content hashes to the leaf that
its inclusion proof ties to the root of a checkpoint signed by a trusted key for the expected log.
An event without such a proof (newer than the checkpoint, no proof, a proof that fails) is a
failure, and so is a bundle without a checkpoint. A bundle cannot show that no event was left out;
`completeness()` checks that against a verified full export of the log.
"""

from __future__ import annotations

from typing import Any

from strongroom.audit import chain
from strongroom.audit.custody import BUNDLE_FORMAT, DOES_NOT_PROVE
from strongroom.audit.trust import NO_TRUSTED_KEY, Signers, Trust, Verdict, origin_problem
from strongroom.audit.verify import Report


def verify_bundle(bundle: dict[str, Any], *, trust: Trust = Trust()) -> Verdict:
    """Check a custody bundle offline; never raises for bad content."""
    verdict = Verdict()
    if bundle.get("format") != BUNDLE_FORMAT:
        verdict.problems.append(f"not a {BUNDLE_FORMAT} file")
    signers = Signers.choose(trust, bundle.get("public_key"))
    if not signers.trusted:
        verdict.unverified.append(NO_TRUSTED_KEY)
    checkpoint = _checkpoint(bundle, signers, trust, verdict)
    item_id = (bundle.get("item") or {}).get("id")
    last_seq = 0
    events = bundle.get("events")
    for record in events if isinstance(events, list) else []:
        seq = record.get("seq") if isinstance(record, dict) else None
        if not isinstance(seq, int):
            verdict.problems.append("an event has no integer seq")
            continue
        if seq <= last_seq:
            verdict.problems.append(f"seq {seq}: listed after seq {last_seq} (duplicated or reordered)")
        last_seq = max(last_seq, seq)
        if record.get("item_id") != item_id:
            verdict.problems.append(f"seq {seq}: the event is about another item, not {item_id}")
        _event(record, seq, checkpoint, verdict)
    if not verdict.problems:
        verdict.warnings.append("completeness is not proven: " + DOES_NOT_PROVE)
    return verdict


def _checkpoint(
    bundle: dict[str, Any], signers: Signers, trust: Trust, verdict: Verdict
) -> dict[str, Any] | None:
    """The bundle's checkpoint if it is signed (by a trusted key, when there is one) for the log."""
    checkpoint = bundle.get("checkpoint")
    if not isinstance(checkpoint, dict):
        verdict.problems.append(
            "the bundle has no signed checkpoint: nothing vouches for its events (an honest bundle"
            " always carries one)"
        )
        return None
    if not signers.signed(checkpoint):
        whose = "the trusted audit key" if signers.trusted else "the key written in the bundle"
        verdict.problems.append(
            f"checkpoint at tree size {checkpoint.get('tree_size')}: signature does not verify with {whose}"
        )
        return None
    expected = trust.origin or bundle.get("origin") or checkpoint.get("origin")
    wrong_log = origin_problem(checkpoint, expected, source="the bundle's")
    if wrong_log:
        verdict.problems.append(wrong_log)
        return None
    return checkpoint


def _event(record: dict[str, Any], seq: int, checkpoint: dict[str, Any] | None, verdict: Verdict) -> None:
    event = dict(record)
    stored, proof = event.pop("hash", None), event.pop("inclusion_proof", None)
    try:
        recomputed = chain.chain_hash(str(event.get("prev_hash")), chain.event_payload(event))
    except (ValueError, TypeError):
        recomputed = ""
    if recomputed != stored:
        verdict.problems.append(f"seq {seq}: content does not match its hash (the event was edited)")
    if checkpoint is None:
        return
    size = int(checkpoint["tree_size"])
    if seq > size:
        verdict.problems.append(
            f"seq {seq}: newer than the signed checkpoint (tree size {size}): nothing vouches for it"
        )
        return
    try:
        path = [bytes.fromhex(p) for p in proof] if isinstance(proof, list) else None
        included = path is not None and chain.verify_inclusion(
            seq - 1, size, chain.event_leaf(recomputed), path, bytes.fromhex(checkpoint["root_hash"])
        )
    except (ValueError, TypeError):
        included = False
    if not included:
        verdict.problems.append(f"seq {seq}: not included in the signed checkpoint (inclusion proof fails)")


def completeness(bundle: dict[str, Any], log: Report) -> list[str]:
    """Events about the bundle's item that a verified full export holds up to the bundle's checkpoint
    but the bundle lacks or holds differently. `log` comes from `verify_export(..., item_id=...)`."""
    checkpoint = bundle.get("checkpoint") or {}
    size = int(checkpoint.get("tree_size") or 0)
    if log.last_checkpoint_size < size:
        return [
            (
                f"the log export is signed only up to event {log.last_checkpoint_size}, short of the"
                f" bundle's checkpoint ({size}): export the log again after the bundle was made"
            )
        ]
    held = {e.get("seq"): e.get("hash") for e in bundle.get("events") or [] if isinstance(e, dict)}
    findings: list[str] = []
    for seq, digest in sorted(log.item_events.items()):
        if seq > size:
            break
        if seq not in held:
            findings.append(f"seq {seq}: the log holds this event about the item, but the bundle left it out")
        elif held[seq] != digest:
            findings.append(f"seq {seq}: the bundle's event differs from the log's")
    return findings
