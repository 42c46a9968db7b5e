"""Make a checkpoint now and hand a copy to the outside witnesses configured in `[audit]`.

Called by the worker's periodic task, `POST /api/v1/audit/checkpoints` and `strongroom audit
checkpoint`. The signer comes from the caller (the key provider lives above audit).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Collection

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from strongroom.audit import export
from strongroom.audit.checkpoints import Signer, as_record, latest, make_checkpoint
from strongroom.clock import Clock
from strongroom.config import Settings
from strongroom.db.session import transaction

log = logging.getLogger(__name__)


def origin_of(settings: Settings) -> str:
    return settings.audit.origin or f"{settings.public_url}/audit"


def checkpoint_due(sessions: sessionmaker[Session], *, settings: Settings, clock: Clock) -> bool:
    """Has the configured interval passed since the last checkpoint (or is there none)?"""
    with sessions() as session:
        last = latest(session)
    return (
        last is None
        or (clock.now() - last.created_at).total_seconds() >= settings.audit.checkpoint_every_seconds
    )


def checkpoint_now(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    sign: Signer,
    public_key: bytes,
    clock: Clock,
    earlier_keys: Collection[bytes] = (),
) -> dict[str, object] | None:
    """Sign a checkpoint if events arrived since the last one, then publish it; None if nothing new
    (or another process signed the same size a moment ago). Raises CheckpointTampered."""
    try:
        with transaction(sessions) as session:
            checkpoint = make_checkpoint(
                session,
                sign=sign,
                public_key=public_key,
                origin=origin_of(settings),
                at=clock.now(),
                earlier_keys=earlier_keys,
            )
            record = as_record(checkpoint) if checkpoint else None
    except IntegrityError:
        return None
    if record is not None:
        publish(settings, record)
    return record


def publish(settings: Settings, record: dict[str, object]) -> None:
    """Send a checkpoint to each configured witness. A witness that is down is logged, not fatal: the
    checkpoint is in the database and will be in the next export."""
    if settings.audit.witness_file is not None:
        export.write_witness_file(settings.audit.witness_file, record)
    if settings.audit.witness_syslog:
        try:
            export.send_syslog_udp(
                settings.audit.witness_syslog,
                export.checkpoint_syslog_line(record, hostname=socket.gethostname()),
            )
        except OSError:
            log.exception("could not send the audit checkpoint to syslog %s", settings.audit.witness_syslog)
