"""Offline verification of an export: needs only the file and, ideally, the audit public key.

What is checked, and what each finding means:

* every event's hash is recomputed from its content and its prev_hash: a mismatch means the event
  was edited;
* every event's prev_hash equals the previous event's hash, and seqs run 1, 2, 3... without gaps:
  a break means events were deleted, inserted or reordered there;
* every checkpoint's Ed25519 signature verifies, and its Merkle root equals the root recomputed from
  events 1..tree_size: a mismatch means history up to that size was rewritten (even if the chain
  itself was recomputed to look consistent), and a checkpoint beyond the last event means events
  were cut off the end;
* the end line's count matches: otherwise the export was truncated.

Each finding names the seq (or the range of seqs) where the trouble is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from strongroom.audit import chain
from strongroom.audit.checkpoints import signature_valid
from strongroom.audit.export import FORMAT


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
    problems: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _State:
    report: Report
    public_key: bytes | None
    checkpoints: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    expected_seq: int = 1
    prev_hash: str = chain.GENESIS_HASH
    frontier: chain.CompactRange = field(default_factory=chain.CompactRange)
    merkle: bool = True
    last_good_size: int = 0
    ended: dict[str, Any] | None = None


def verify_export(
    lines: Iterable[str], *, public_key: bytes | None = None, witness: Iterable[dict[str, Any]] = ()
) -> Report:
    """Check an export (JSON lines) and return every problem found; never raises for bad content.

    `public_key` is the audit key obtained out of band; without it the key in the export's own
    header is used, and a warning says so. `witness` adds checkpoints kept elsewhere.
    """
    report = Report()
    state = _State(report=report, public_key=public_key)
    for record in witness:
        _add_checkpoint(state, record, source="witness")
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
        elif "$type" in record:
            _special(state, record, number)
        else:
            _event(state, record)
    _finish(state)
    return report


def _special(state: _State, record: dict[str, Any], number: int) -> None:
    kind = record["$type"]
    if kind == "header":
        _header(state, record)
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
    after = int(record.get("after_seq") or 0)
    if after:
        state.expected_seq = after + 1
        state.merkle = False
        state.prev_hash = ""
        state.report.warnings.append(
            f"partial export (events after {after}): the chain is checked from there;"
            " checkpoint roots need a full export"
        )
    if state.public_key is None and record.get("public_key"):
        state.public_key = bytes.fromhex(record["public_key"])
        state.report.warnings.append(
            "using the public key written in the export itself; pass the key you hold (--public-key)"
            " to rule out "
            "a forged key and re-signed checkpoints"
        )


def _add_checkpoint(state: _State, record: dict[str, Any], *, source: str) -> None:
    size = int(record.get("tree_size", 0))
    if state.public_key is None or not signature_valid(record, state.public_key):
        state.report.problems.append(
            Finding(
                f"{source} checkpoint at tree size {size}:"
                " signature does not verify with the audit public key"
            )
        )
        return
    state.checkpoints.setdefault(size, []).append(record)


def _event(state: _State, record: dict[str, Any]) -> None:
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
    try:
        recomputed = chain.chain_hash(str(prev), chain.event_payload(record))
    except ValueError:
        recomputed = ""
    if recomputed != stored:
        report.problems.append(Finding("content does not match its hash (the event was edited)", seq))
    # Carry on from what the file says, so one edit is one finding and not a cascade.
    state.expected_seq = seq + 1
    state.prev_hash = stored
    if state.merkle:
        state.frontier.append(chain.event_leaf(recomputed or stored))
        _check_roots(state, state.frontier.size)


def _check_roots(state: _State, size: int) -> None:
    for record in state.checkpoints.pop(size, []):
        if state.frontier.root().hex() == record["root_hash"]:
            state.report.checkpoints_verified += 1
            state.last_good_size = max(state.last_good_size, size)
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
        report.warnings.append("no checkpoint covered these events: only the hash chain was checked")
    elif state.last_good_size < state.frontier.size:
        report.warnings.append(
            f"events {state.last_good_size + 1}..{state.frontier.size} are newer than the last checkpoint: "
            "only the hash chain protects them"
        )
