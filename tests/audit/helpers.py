"""Writing events and exporting them the way the server does, for the audit tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import chain, export, verify, witness
from strongroom.audit.events import AuditAction, ItemRef, record
from strongroom.audit.trust import Trust
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.storage.signing_keys import earlier_public_keys
from tests.support.users import UserFixture

OFFICER = Actor(
    kind=ActorKind.USER, id="us_officer", label="pc.smith@force.police.test", origin=Origin(ip="10.0.0.7")
)


def write_events(
    runtime: Runtime, count: int, *, item_id: str = "fi_exhibit", actor: Actor = OFFICER
) -> None:
    for n in range(count):
        with transaction(runtime.sessions) as session:
            record(
                session,
                actor,
                AuditAction.CONTENT_READ,
                item=ItemRef("file", item_id, "exhibit-JS-1.mp4"),
                details={"n": n, "note": "café ünïcode"},
                at=runtime.clock.now(),
            )


def checkpoint(runtime: Runtime) -> dict[str, object] | None:
    return witness.checkpoint_now(
        runtime.sessions,
        settings=runtime.settings,
        sign=runtime.audit_key.sign,
        public_key=runtime.audit_key.public_key(),
        earlier_keys=earlier_public_keys(runtime.audit_key),
        clock=runtime.clock,
    )


def export_lines(runtime: Runtime) -> list[str]:
    return list(
        export.jsonl_lines(
            runtime.sessions,
            public_key=runtime.audit_key.public_key(),
            exported_at=runtime.clock.now(),
            origin=witness.origin_of(runtime.settings),
        )
    )


def trusted(runtime: Runtime) -> Trust:
    """What a verifier holds apart from the server: the audit public key."""
    return Trust.of([runtime.audit_key.public_key()])


def verify_db(runtime: Runtime) -> verify.Report:
    return verify.verify_export(export_lines(runtime), trust=trusted(runtime))


def why(user: UserFixture, reason: str = "Audit review for Op Kestrel") -> dict[str, str]:
    """The user's headers with a reason: every read of the audit trail states one."""
    return {**user.headers, "X-Strongroom-Reason": quote(reason)}


def pending_event_row(at: Any, *, n: int = 0, item_id: str = "fi_crash") -> dict[str, Any]:
    """A committed, unchained event as another process (or one that died before chaining) leaves
    it in audit_pending."""
    return {
        "occurred_at": at,
        "actor_kind": "user",
        "actor_id": "us_crashed",
        "actor_label": "crashed@force.police.test",
        "ip": None,
        "user_agent": None,
        "action": AuditAction.CONTENT_READ.value,
        "item_kind": "file",
        "item_id": item_id,
        "item_name": "a.mp4",
        "details": chain.canonical_json({"n": n}),
        "reason": None,
    }
