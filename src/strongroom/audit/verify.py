"""Offline verification of an export: needs only the file and the audit public key held apart.

What is checked, and what each finding means:

* every event's hash is recomputed from its content and its prev_hash: a mismatch means the event
  was edited;
* every event's prev_hash equals the previous event's hash, and seqs run 1, 2, 3... without gaps:
  a break means events were deleted, inserted or reordered there;
* every checkpoint's Ed25519 signature verifies with a trusted key, it names the expected log
  (`origin`), and its Merkle root equals the root recomputed from events 1..tree_size: a mismatch
  means history up to that size was rewritten (even if the chain itself was recomputed to look
  consistent), and a checkpoint beyond the last event means events were cut off the end;
* the end line's count matches: otherwise the export was truncated.

Each finding names the seq (or the range of seqs) where the trouble is. The outcome (verified,
tampered, unverified) and its exit status are defined in `trust.py`: without a trusted key, or
without a signed checkpoint over the events, an intact file is *unverified*, never verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from strongroom.audit import chain
from strongroom.audit.export import FORMAT
from strongroom.audit.trust import NO_TRUSTED_KEY, Outcome, Signers, Trust, origin_problem


@dataclass(frozen=True)
class Finding:
    message: str
    seq: int | None = None

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass
class Report:
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    checkpoints_verified: int = 0
    origin: str | None = None
    problems: list[Finding] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # seq -> chain hash of the events about one item, when asked for (a custody bundle's completeness).
    item_events: dict[int, str] = field(default_factory=dict)
    last_checkpoint_size: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def outcome(self) -> Outcome:
        if self.problems:
            return Outcome.TAMPERED
        return Outcome.UNVERIFIED if self.unverified else Outcome.VERIFIED


@dataclass
class _State:
    report: Report
    trust: Trust
    witness: list[dict[str, Any]]
    item_id: str | None
    signers: Signers | None = None
    header_key: str | None = None
    checkpoints: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    expected_seq: int = 1
    prev_hash: str = chain.GENESIS_HASH
    frontier: chain.CompactRange = field(default_factory=chain.CompactRange)
    merkle: bool = True
    last_good_size: int = 0
    ended: dict[str, Any] | None = None


def verify_export(
    lines: Iterable[str],
    *,
    trust: Trust = Trust(),
    witness: Iterable[dict[str, Any]] = (),
    item_id: str | None = None,
) -> Report:
    """Check an export (JSON lines) and return every problem found; never raises for bad content.

    `trust` holds the audit keys obtained out of band and the expected log's origin; without a key the
    key in the export's own header is used and the result is at best unverified. `witness` adds
    checkpoints kept elsewhere; they are checked once the keys are known. With `item_id`, the report
    also lists the seq and hash of every event about that item (`item_events`).
    """
    report = Report(origin=trust.origin)
    state = _State(report=report, trust=trust, witness=list(witness), item_id=item_id)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            report.problems.append(Finding(f"line {number} is not JSON"))
            continue
        if not isinstance(record, dict):
            report.problems.append(Finding(f"line {number} is not a JSON object"))
        elif record.get("$type") == "header" and state.signers is None:
            _header(state, record)
        else:
            _settle_keys(state)
            if "$type" in record:
                _special(state, record, number)
            else:
                _event(state, record, line)
    _settle_keys(state)
    _finish(state)
    return report


def _settle_keys(state: _State) -> None:
    """Choose the keys once the header (if any) is read, then check the witnesses' checkpoints."""
    if state.signers is not None:
        return
    state.signers = Signers.choose(state.trust, state.header_key)
    if not state.signers.trusted:
        state.report.unverified.append(NO_TRUSTED_KEY)
    for record in state.witness:
        _add_checkpoint(state, record, source="witness")


def _special(state: _State, record: dict[str, Any], number: int) -> None:
    kind = record["$type"]
    if kind == "header":
        state.report.problems.append(Finding(f"line {number}: a second header"))
    elif kind == "checkpoint":
        if state.report.events:
            state.report.problems.append(
                Finding(f"line {number}: checkpoint after the events (export reordered)")
            )
        _add_checkpoint(state, record, source="export")
    elif kind == "end":
        state.ended = record
    else:
        state.report.problems.append(Finding(f"line {number}: unknown record type {kind!r}"))


def _header(state: _State, record: dict[str, Any]) -> None:
    if record.get("format") != FORMAT:
        state.report.problems.append(Finding(f"not a {FORMAT} file"))
    if state.report.origin is None and isinstance(record.get("origin"), str):
        state.report.origin = record["origin"]
    after = int(record.get("after_seq") or 0)
    if after:
        state.expected_seq = after + 1
        state.merkle = False
        state.prev_hash = ""
        state.report.unverified.append(
            f"partial export (events after {after}): the chain is checked from there, but checkpoint"
            " roots need a full export, so no signed checkpoint vouches for these events"
        )
    state.header_key = record.get("public_key")


def _add_checkpoint(state: _State, record: dict[str, Any], *, source: str) -> None:
    size = int(record.get("tree_size", 0))
    assert state.signers is not None  # _settle_keys runs before any checkpoint
    if state.signers.keys and not state.signers.signed(record):
        state.report.problems.append(
            Finding(
                f"{source} checkpoint at tree size {size}: signature does not verify with the"
                + (" trusted audit key" if state.signers.trusted else " key written in the export")
            )
        )
        return
    if state.report.origin is None:
        state.report.origin = record.get("origin")  # no header origin: the first checkpoint names the log
    wrong_log = origin_problem(record, state.report.origin, source=source)
    if wrong_log:
        state.report.problems.append(Finding(wrong_log))
        return
    state.checkpoints.setdefault(size, []).append(record)


def _event(state: _State, record: dict[str, Any], line: str) -> None:
    report = state.report
    seq = record.get("seq")
    stored = record.pop("hash", None)
    if not isinstance(seq, int) or not isinstance(stored, str):
        report.problems.append(
            Finding("an event line has no integer seq or no hash", seq if isinstance(seq, int) else None)
        )
        return
    report.events += 1
    report.first_seq = seq if report.first_seq is None else report.first_seq
    report.last_seq = seq
    if seq > state.expected_seq:
        span = (
            f"{state.expected_seq}" if seq == state.expected_seq + 1 else f"{state.expected_seq}..{seq - 1}"
        )
        report.problems.append(Finding(f"events {span} are missing (deleted)", seq))
    elif seq < state.expected_seq:
        report.problems.append(
            Finding(f"seq goes back from {state.expected_seq - 1} (inserted, duplicated or reordered)", seq)
        )
    prev = record.get("prev_hash")
    if state.prev_hash and prev != state.prev_hash:
        report.problems.append(
            Finding(
                "prev_hash does not match the hash of the event before it"
                " (events deleted, inserted or reordered)",
                seq,
            )
        )
    recomputed = _hash_of_line(line, str(prev), stored)
    if recomputed is None:
        try:
            recomputed = chain.chain_hash(str(prev), chain.event_payload(record))
        except ValueError:
            recomputed = ""
    if recomputed != stored:
        report.problems.append(Finding("content does not match its hash (the event was edited)", seq))
    if state.item_id is not None and record.get("item_id") == state.item_id:
        report.item_events[seq] = stored
    # Carry on from what the file says, so one edit is one finding and not a cascade.
    state.expected_seq = seq + 1
    state.prev_hash = stored
    if state.merkle:
        state.frontier.append(chain.event_leaf(recomputed or stored))
        _check_roots(state, state.frontier.size)


def _hash_of_line(line: str, prev: str, stored: str) -> str | None:
    """The fast path, the line as written less its hash: the server writes each event as its canonical
    JSON, so these are the very bytes it hashed, and re-serialising is skipped (most of the cost of
    verifying). Sound whatever the file holds: if the bytes hash to the stored hash, they are the
    bytes that were hashed. None when they do not; the caller then checks the canonical form."""
    marker = f',"hash":"{stored}"'
    if marker not in line:
        return None
    try:
        digest = chain.chain_hash(prev, line.rstrip("\r\n").replace(marker, "", 1).encode())
    except ValueError:
        return None
    return digest if digest == stored else None


def _check_roots(state: _State, size: int) -> None:
    for record in state.checkpoints.pop(size, []):
        if state.frontier.root().hex() == record["root_hash"]:
            state.report.checkpoints_verified += 1
            state.last_good_size = max(state.last_good_size, size)
            state.report.last_checkpoint_size = state.last_good_size
        else:
            state.report.problems.append(
                Finding(
                    f"the signed checkpoint at tree size {size} ({record.get('created_at')})"
                    " does not match events "
                    f"1..{size}: history between seq {state.last_good_size + 1} and {size} was rewritten"
                )
            )


def _finish(state: _State) -> None:
    report = state.report
    for size in sorted(state.checkpoints):
        if state.merkle:
            report.problems.append(
                Finding(
                    f"a signed checkpoint covers {size} events but the export ends at {state.frontier.size}: "
                    "events were removed from the end"
                )
            )
    if state.ended is None:
        report.problems.append(Finding("the export has no end line: it was truncated"))
    elif state.ended.get("events") != report.events:
        report.problems.append(
            Finding(
                f"the end line counts {state.ended.get('events')} events but the export holds {report.events}"
            )
        )
    if not state.merkle:
        return
    if report.checkpoints_verified == 0:
        # An export stripped of its checkpoints (or of everything) must not pass for a verified one.
        report.unverified.append(
            "no signed checkpoint covers these events: only the hash chain was checked, and whoever can"
            " write the database can recompute a chain (compare with the witness copies, --witness)"
        )
    elif state.last_good_size < state.frontier.size:
        report.warnings.append(
            f"events {state.last_good_size + 1}..{state.frontier.size} are newer than the last checkpoint: "
            "only the hash chain protects them until the next checkpoint is signed"
        )
