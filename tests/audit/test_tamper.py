"""A database administrator edits, deletes, inserts and reorders audit rows with plain SQL; the offline
verifier must notice each and say where."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import text

from strongroom.audit import chain, verify
from strongroom.audit.sequencer import hashed_fields
from strongroom.clock import utc
from strongroom.runtime import Runtime
from tests.audit.helpers import checkpoint, export_lines, trusted, verify_db, write_events


def sql(runtime: Runtime, statement: str, **params: object) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(text(statement), params)


def as_utc(value: object) -> datetime:
    # Raw SQL hands back a string on SQLite and a datetime on PostgreSQL.
    return utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))


def problems(report: verify.Report) -> list[str]:
    return [str(p) for p in report.problems]


def test_an_untouched_log_verifies_with_its_checkpoints(runtime: Runtime) -> None:
    write_events(runtime, 5)
    assert checkpoint(runtime) is not None
    assert checkpoint(runtime) is None  # nothing new: no second checkpoint
    write_events(runtime, 3)
    assert checkpoint(runtime)["tree_size"] == 8  # type: ignore[index]
    report = verify_db(runtime)
    assert report.ok, problems(report)
    assert (report.events, report.first_seq, report.last_seq, report.checkpoints_verified) == (8, 1, 8, 2)


def test_an_edited_event_is_found_by_its_seq(runtime: Runtime) -> None:
    write_events(runtime, 6)
    checkpoint(runtime)
    sql(runtime, "UPDATE audit_event SET actor_label = 'someone.else@force.police.test' WHERE seq = 3")
    found = problems(verify_db(runtime))
    assert "seq 3: content does not match its hash (the event was edited)" in found
    assert any("checkpoint at tree size 6" in p for p in found)


def test_a_deleted_event_is_found(runtime: Runtime) -> None:
    write_events(runtime, 6)
    checkpoint(runtime)
    sql(runtime, "DELETE FROM audit_event WHERE seq = 4")
    found = problems(verify_db(runtime))
    assert any(p.startswith("seq 5: events 4 are missing") for p in found), found
    assert any(p.startswith("seq 5: prev_hash does not match") for p in found), found


def test_deleting_the_newest_events_is_found_through_the_checkpoint(runtime: Runtime) -> None:
    write_events(runtime, 6)
    checkpoint(runtime)
    sql(runtime, "DELETE FROM audit_event WHERE seq > 4")
    sql(runtime, "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_event WHERE seq = 4)")
    found = problems(verify_db(runtime))
    assert any("covers 6 events but the export ends at 4" in p for p in found), found


def test_an_inserted_event_is_found(runtime: Runtime) -> None:
    write_events(runtime, 4)
    checkpoint(runtime)
    # Shift the later events up and slip a forged event in at seq 3, hashed right for its content.
    sql(runtime, "UPDATE audit_event SET seq = seq + 100 WHERE seq >= 3")
    sql(runtime, "UPDATE audit_event SET seq = seq - 99 WHERE seq >= 103")
    lines = export_lines(runtime)
    second = json.loads(next(line for line in lines if '"seq":2,' in line))
    forged = {k: v for k, v in second.items() if k != "hash"} | {
        "seq": 3,
        "prev_hash": second["hash"],
        "actor_label": "forger",
    }
    forged["hash"] = chain.chain_hash(second["hash"], chain.event_payload(forged))
    sql(
        runtime,
        "INSERT INTO audit_event (seq, occurred_at, actor_kind, actor_id, actor_label, ip, user_agent,"
        " action, item_kind, item_id, item_name, details, reason, prev_hash, hash)"
        " SELECT 3, occurred_at, actor_kind, actor_id, 'forger', ip, user_agent, action, item_kind, item_id,"
        " item_name, details, reason, :prev, :hash FROM audit_event WHERE seq = 2",
        prev=second["hash"],
        hash=forged["hash"],
    )
    found = problems(verify_db(runtime))
    assert any(p.startswith("seq 4: prev_hash does not match") for p in found), found
    assert any(p.startswith("seq 4: content does not match") for p in found), found
    assert any("checkpoint at tree size 4" in p for p in found), found


def test_reordered_events_are_found(runtime: Runtime) -> None:
    write_events(runtime, 5)
    checkpoint(runtime)
    sql(runtime, "UPDATE audit_event SET seq = -2 WHERE seq = 2")
    sql(runtime, "UPDATE audit_event SET seq = 2 WHERE seq = 4")
    sql(runtime, "UPDATE audit_event SET seq = 4 WHERE seq = -2")
    found = problems(verify_db(runtime))
    assert any(p.startswith("seq 2: content does not match") for p in found), found
    assert any(p.startswith("seq 4: content does not match") for p in found), found


def test_a_rewritten_history_with_recomputed_hashes_fails_the_signed_checkpoint(runtime: Runtime) -> None:
    write_events(runtime, 4)
    checkpoint(runtime)
    write_events(runtime, 4)
    checkpoint(runtime)
    # The administrator edits event 6 and recomputes every hash after it, so the chain alone looks fine.
    with runtime.engine.begin() as conn:
        rows = conn.execute(text("SELECT * FROM audit_event ORDER BY seq")).mappings().all()
        prev = chain.GENESIS_HASH
        for row in rows:
            fields = {k: row[k] for k in row if k not in {"seq", "prev_hash", "hash"}}
            if row["seq"] == 6:
                fields["actor_label"] = "nobody"
            fields["occurred_at"] = as_utc(fields["occurred_at"])
            digest = chain.chain_hash(prev, chain.event_payload(hashed_fields(row["seq"], fields, prev)))
            conn.execute(
                text(
                    "UPDATE audit_event SET actor_label = :label, prev_hash = :prev, hash = :hash"
                    " WHERE seq = :seq"
                ),
                {"label": fields["actor_label"], "prev": prev, "hash": digest, "seq": row["seq"]},
            )
            prev = digest
    report = verify_db(runtime)
    found = problems(report)
    assert not any("content does not match" in p for p in found), found  # the chain was recomputed...
    assert found == [  # ...but the signed tree head pins history, and says which span changed
        "the signed checkpoint at tree size 8 ("
        + json.loads(export_lines(runtime)[2])["created_at"]
        + ") does not match events 1..8: history between seq 5 and 8 was rewritten"
    ]
    assert report.checkpoints_verified == 1


def test_a_forged_checkpoint_signature_is_refused(runtime: Runtime) -> None:
    write_events(runtime, 3)
    checkpoint(runtime)
    sql(runtime, "UPDATE audit_checkpoint SET root_hash = :root", root="ab" * 32)
    found = problems(verify_db(runtime))
    assert any("signature does not verify" in p for p in found), found


def test_a_truncated_or_reordered_export_file_is_found(runtime: Runtime) -> None:
    write_events(runtime, 4)
    checkpoint(runtime)
    lines = export_lines(runtime)
    key = trusted(runtime)
    assert verify.verify_export(lines, trust=key).ok
    assert any("truncated" in str(p) for p in verify.verify_export(lines[:-2], trust=key).problems)
    swapped = [*lines[:3], lines[4], lines[3], *lines[5:]]
    found = [str(p) for p in verify.verify_export(swapped, trust=key).problems]
    assert any(p.startswith("seq 2: seq goes back") for p in found), found
