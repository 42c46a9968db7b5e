"""Exports of the log: JSON lines (what `strongroom audit verify` checks) and RFC 5424 syslog lines
(what a SIEM such as Sentinel or Splunk ingests), and the copies of checkpoints sent to witnesses.

JSON lines export, one object per line, in this order:

    {"$type": "header", "format": "strongroom-audit-export", "version": 1, "after_seq": 0,
     "origin": "<the log's name>", "public_key": ..., ...}
    {"$type": "checkpoint", ...}             every checkpoint, oldest first
    {"seq": 1, ..., "prev_hash": ..., "hash": ...}   every event, by seq: exactly the fields the
                                             chain hash covers, plus "hash"
    {"$type": "end", "events": N, "last_seq": N}

Events are read in short batches (each its own transaction) so an export never holds SQLite's
write lock for long; the log is append-only, so batches by seq see one consistent history.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import chain, events, sequencer
from strongroom.audit.checkpoints import as_record
from strongroom.audit.events import AuditAction
from strongroom.audit.models import AuditEvent, Checkpoint
from strongroom.audit.sequencer import hashed_fields
from strongroom.audit.text import escape_line_breakers
from strongroom.clock import Clock
from strongroom.db.session import transaction

FORMAT = "strongroom-audit-export"
BATCH = 5000
FIELDS = (
    "occurred_at", "actor_kind", "actor_id", "actor_label", "ip", "user_agent", "action",
    "item_kind", "item_id", "item_name", "details", "reason",
)  # fmt: skip

# RFC 5424: facility 13 is "log audit"; the private enterprise number 32473 is the one RFC 5612
# reserves for documentation and examples. Operators with their own PEN can map it in the SIEM.
SYSLOG_FACILITY = 13
SD_ID = "strongroom@32473"
_WARNING_ACTIONS = ("failed", "rejected", "tampered")


def event_record(event: AuditEvent | Row[Any]) -> dict[str, Any]:
    """An event as exported: the fields its chain hash covers, then its hash."""
    fields = {name: getattr(event, name) for name in FIELDS}
    return {**hashed_fields(event.seq, fields, event.prev_hash), "hash": event.hash}


def _line(value: dict[str, Any]) -> str:
    # One line per record whatever the text holds (even events written before text was checked).
    return escape_line_breakers(chain.canonical_json(value)) + "\n"


def iter_events(open_session: Callable[[], Session], *, after_seq: int = 0) -> Iterator[AuditEvent]:
    """Every event with seq > after_seq, in order, read in batches of short transactions."""
    last = after_seq
    while True:
        with open_session() as session:
            batch = list(
                session.execute(
                    select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(BATCH)
                ).scalars()
            )
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def jsonl_lines(
    open_session: Callable[[], Session],
    *,
    public_key: bytes,
    exported_at: datetime,
    after_seq: int = 0,
    origin: str | None = None,
) -> Iterator[str]:
    with open_session() as session:
        checkpoints = [
            as_record(c) for c in session.execute(select(Checkpoint).order_by(Checkpoint.tree_size)).scalars()
        ]
        # Committed but not chained yet (a moment's worth, or what a crash left for the next pass):
        # they have no seq, so they are not in this export, and the header says how many.
        unchained = sequencer.pending_count(session)
    yield _line(
        {
            "$type": "header",
            "format": FORMAT,
            "version": 1,
            "after_seq": after_seq,
            "exported_at": exported_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "origin": origin,
            "public_key": public_key.hex(),
            "leaf": "sha256(0x00 || chain hash bytes)",
            "unchained_events": unchained,
        }
    )
    for record in checkpoints:
        yield _line({"$type": "checkpoint", **record})
    count, last = 0, after_seq
    for event in iter_events(open_session, after_seq=after_seq):
        count, last = count + 1, event.seq
        yield _line(event_record(event))
    yield _line({"$type": "end", "events": count, "last_seq": last})


def _sd_escape(value: str) -> str:
    """An RFC 5424 PARAM-VALUE: '\\', '"' and ']' escaped as the RFC says, then every control,
    separator and bidi character written as the text \\uXXXX (its backslash cannot be confused with
    an escaped one, which is doubled), so that one event is always one line."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return escape_line_breakers(escaped)


def _ascii_token(value: str, limit: int) -> str:
    cleaned = "".join(ch if 33 <= ord(ch) <= 126 else "_" for ch in value)
    return cleaned[:limit] or "-"


def syslog_line(record: dict[str, Any], *, hostname: str, msgid: str | None = None) -> str:
    """One RFC 5424 message: header, one SD-ELEMENT with the event's key fields, the JSON record as MSG."""
    action = str(record.get("action") or msgid or "audit")
    severity = 4 if any(word in action for word in _WARNING_ACTIONS) else 6
    timestamp = record.get("occurred_at") or record.get("created_at") or "-"
    params = {
        "seq": record.get("seq"),
        "action": record.get("action"),
        "actorKind": record.get("actor_kind"),
        "actorId": record.get("actor_id"),
        "actor": record.get("actor_label"),
        "ip": record.get("ip"),
        "itemId": record.get("item_id"),
        "item": record.get("item_name"),
        "reason": record.get("reason"),
        "hash": record.get("hash"),
        "treeSize": record.get("tree_size"),
        "root": record.get("root_hash"),
    }
    sd = " ".join(f'{name}="{_sd_escape(str(value))}"' for name, value in params.items() if value is not None)
    header = (
        f"<{SYSLOG_FACILITY * 8 + severity}>1 {timestamp} {_ascii_token(hostname, 255)} strongroom - "
        f"{_ascii_token(msgid or action, 32)}"
    )
    return f"{header} [{SD_ID} {sd}] {escape_line_breakers(chain.canonical_json(record))}\n"


def syslog_lines(open_session: Callable[[], Session], *, hostname: str, after_seq: int = 0) -> Iterator[str]:
    for event in iter_events(open_session, after_seq=after_seq):
        yield syslog_line(event_record(event), hostname=hostname)


def lines_expected(sessions: sessionmaker[Session], *, format: str, after_seq: int) -> int:  # noqa: A002
    """How many lines `export_log` will give (for a progress bar; new events may add a few)."""
    with transaction(sessions) as session:
        events_after = session.scalar(select(func.count()).where(AuditEvent.seq > after_seq)) or 0
        checkpoints = session.scalar(select(func.count()).select_from(Checkpoint)) or 0
    return events_after + checkpoints + 2 if format == "jsonl" else events_after  # + header and end


def export_log(
    sessions: sessionmaker[Session],
    actor: Actor,
    *,
    format: str,  # noqa: A002 - the name the API and CLI use
    after_seq: int,
    public_key: bytes,
    origin: str,
    reason: str,
    clock: Clock,
) -> Iterator[str]:
    """Record that `actor` exported the log and why, then return its lines: `jsonl` (verifiable
    offline) or RFC 5424 `syslog`. The export is itself an audit event, so exports show up in the
    trail they export."""
    with transaction(sessions) as session:
        events.record(
            session,
            actor,
            AuditAction.AUDIT_EXPORTED,
            details={"format": format, "after_seq": after_seq},
            reason=reason,
            at=clock.now(),
        )
    if format == "jsonl":
        return jsonl_lines(
            sessions, public_key=public_key, exported_at=clock.now(), after_seq=after_seq, origin=origin
        )
    return syslog_lines(sessions, hostname=socket.gethostname(), after_seq=after_seq)


def write_witness_file(path: Path, record: dict[str, Any]) -> None:
    """Append a checkpoint to a witness file and make it durable before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(_line({"$type": "checkpoint", **record}))
        out.flush()
        os.fsync(out.fileno())


def send_syslog_udp(target: str, line: str) -> None:
    """Send one syslog message to `host:port` over UDP (RFC 5426)."""
    host, _, port = target.rpartition(":")
    with socket.socket(
        socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_DGRAM
    ) as sock:
        sock.sendto(line.rstrip("\n").encode(), (host.strip("[]") or "127.0.0.1", int(port)))


def checkpoint_syslog_line(record: dict[str, Any], *, hostname: str) -> str:
    return syslog_line(record, hostname=hostname, msgid="audit.checkpoint")
