"""Operator jobs over all content: orphan-blob collection and key rotation (verification: scrub.py).

These run as the system actor from the CLI or the worker, never on behalf of a user.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.models import FileRendition, FileVersion, PendingBlob, TusUpload
from strongroom.db.session import transaction
from strongroom.identity.models import TotpSecret
from strongroom.storage.blobs import BlobStore
from strongroom.storage.keys import KeyProvider, WrappedKey

# A blob younger than this may belong to an upload whose transaction has not committed yet.
ORPHAN_GRACE = timedelta(hours=1)
# A pending blob (content/pending_blobs.py) is kept this long after its last write whatever the grace:
# its version's commit follows within moments, unless the writer crashed.
PENDING_HOLD = timedelta(hours=1)
# A pending row whose blob never appeared (the upload failed or is still streaming) goes after this.
PENDING_STALE = timedelta(days=7)


def delete_blobs(store: BlobStore, keys: list[str]) -> None:
    """Delete blobs freed by a committed purge (called after commit: a rollback must not lose bytes)."""
    for key in keys:
        store.delete(key)


def collect_orphan_blobs(
    sessions: sessionmaker[Session],
    store: BlobStore,
    *,
    clock: Clock,
    grace: timedelta = ORPHAN_GRACE,
    keep: Callable[[Session], set[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Delete blobs no version, rendition or upload refers to (left by crashes or failed commits) and
    abandoned partial writes, if older than `grace`. `keep` names more blobs in use (higher domains'
    blobs, such as upload-request chunks waiting for their submission). `progress(done, total)` is told
    of each deletion. Returns the deleted keys.

    The store is listed *before* the records are read: a blob listed here was written after its
    PendingBlob row committed, so a version still committing is seen as pending, never as an orphan.
    """
    now = clock.now()
    cutoff = now - grace
    candidates = {info.key: info for info in store.list_blobs() if info.modified_at < cutoff}
    with transaction(sessions) as session:
        referenced = set(session.scalars(select(FileVersion.blob_key).distinct()))
        referenced |= {key for key in session.scalars(select(FileRendition.blob_key)) if key}
        referenced |= set(session.scalars(select(TusUpload.blob_key)))
        referenced |= keep(session) if keep is not None else set()
        pending = {row.blob_key: row for row in session.scalars(select(PendingBlob))}
        removed = [
            key
            for key, info in candidates.items()
            if key not in referenced and not (key in pending and info.modified_at >= now - PENDING_HOLD)
        ]
        for key, row in pending.items():
            # Done with: its record committed, its blob is collected, or it never came.
            if key in referenced or key in removed or row.created_at < now - PENDING_STALE:
                session.delete(row)
    for done, key in enumerate(removed, start=1):
        store.delete(key)
        if progress is not None:
            progress(done, len(removed))
    partials = store.purge_partials(older_than=cutoff)
    with transaction(sessions) as session:
        events.record(
            session,
            Actor.system(label="garbage collector"),
            AuditAction.ORPHAN_BLOBS_COLLECTED,
            details={"blobs": removed, "partials": partials},
            at=clock.now(),
        )
    return removed


# Every table whose rows hold a data key wrapped by a KEK; a rotation must re-wrap them all, or retiring
# the old KEK would make their bytes unreadable. Domains above content pass theirs in `more_holders`.
WRAPPED_KEY_HOLDERS: tuple[type[Any], ...] = (FileVersion, TusUpload, FileRendition, TotpSecret)
REWRAP_BATCH = 500

# How long a superseded KEK is kept by default: it covers a write that wrapped its key just before the
# rotation and commits just after the re-wrap pass looked (writers re-wrap at finish, so this is short).
RETIRE_GRACE = timedelta(hours=1)


@dataclass
class Rotation:
    """What a rotation or a retirement pass did, for the operator."""

    new_kek_id: str | None = None
    rewrapped: int = 0
    retired: list[str] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)  # kek id -> why it is still held


def rotate_keys(
    sessions: sessionmaker[Session],
    keys: KeyProvider,
    *,
    clock: Clock,
    retire_old: bool = True,
    grace: timedelta = RETIRE_GRACE,
    more_holders: Sequence[type[Any]] = (),
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Rotation:
    """Make a new key-encryption key current and re-wrap every data key with it; blobs are not touched.
    With `resume`, make no new KEK: finish re-wrapping with the current one (after a stopped rotation).

    Other processes meet the new KEK through the key file. The old KEKs stay held (superseded) and,
    with `retire_old`, are retired by retire_superseded once `grace` has passed since they were
    superseded and nothing is wrapped with them; a rotation does not wait for that. `progress(done,
    total)` is told of each data key re-wrapped.
    """
    new_kek = keys.current_kek_id() if resume else keys.add_kek()
    holders = (*WRAPPED_KEY_HOLDERS, *more_holders)
    count = _rewrap_all(sessions, keys, holders, progress=progress)
    with transaction(sessions) as session:
        events.record(
            session,
            Actor.system(label="key rotation"),
            AuditAction.KEYS_ROTATED,
            details={"new_kek_id": new_kek, "rewrapped": count, "retire_old": retire_old, "resumed": resume},
            at=clock.now(),
        )
    report = Rotation(new_kek_id=new_kek, rewrapped=count)
    if retire_old:
        done = retire_superseded(sessions, keys, clock=clock, grace=grace, more_holders=more_holders)
        report.retired, report.waiting = done.retired, done.waiting
    return report


def retire_superseded(
    sessions: sessionmaker[Session],
    keys: KeyProvider,
    *,
    clock: Clock,
    grace: timedelta = RETIRE_GRACE,
    more_holders: Sequence[type[Any]] = (),
) -> Rotation:
    """Retire each superseded KEK whose grace period has passed and that a fresh query finds nothing
    wrapped with (after re-wrapping what is left). Safe to run any time, from any process."""
    holders = (*WRAPPED_KEY_HOLDERS, *more_holders)
    report = Rotation()
    now = clock.now()
    for kek in keys.keks():
        if kek.current or kek.superseded_at is None:
            continue
        if kek.superseded_at + grace > now:
            report.waiting[kek.id] = f"in its grace period until {(kek.superseded_at + grace).isoformat()}"
            continue
        # Rows committed after the rotation's pass (a write that wrapped just before it) are re-wrapped
        # now; the count is taken in a new transaction so it sees everything committed before it began.
        report.rewrapped += _rewrap_all(sessions, keys, holders, only=kek.id)
        left = count_wrapped_with(sessions, kek.id, holders)
        if left:
            report.waiting[kek.id] = f"{left} data keys are still wrapped with it"
            continue
        keys.retire_kek(kek.id)
        report.retired.append(kek.id)
        with transaction(sessions) as session:
            events.record(
                session,
                Actor.system(label="key rotation"),
                AuditAction.KEK_RETIRED,
                details={"kek_id": kek.id, "superseded_at": kek.superseded_at.isoformat()},
                at=clock.now(),
            )
    return report


def count_wrapped_with(sessions: sessionmaker[Session], kek_id: str, holders: Sequence[type[Any]]) -> int:
    """How many stored data keys are wrapped with `kek_id`, as committed now."""
    with transaction(sessions) as session:
        return sum(
            session.scalar(select(func.count()).select_from(model).where(model.kek_id == kek_id)) or 0
            for model in holders
        )


def _rewrap_all(
    sessions: sessionmaker[Session],
    keys: KeyProvider,
    holders: Sequence[type[Any]],
    *,
    only: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-wrap, with the current KEK, every data key wrapped with another one (or with `only`).

    One transaction per batch, so a rotation over millions of versions holds no long transaction and
    no more than a batch in memory, and one stopped by an outage (the HSM went away) keeps what it did:
    running it again carries on with the rows still wrapped with an older key.
    """
    current = keys.current_kek_id()
    count = seen = 0
    with transaction(sessions) as session:
        total = sum(
            session.scalar(
                select(func.count())
                .select_from(model)
                .where(model.kek_id != current if only is None else model.kek_id == only)
            )
            or 0
            for model in holders
        )
    for model in holders:
        after = ""
        while True:
            wrapped_with = model.kek_id != current if only is None else model.kek_id == only
            with transaction(sessions) as session:
                rows = session.execute(
                    select(model.id.label("id"), model.blob_key, model.kek_id, model.wrapped_dek)
                    .where(wrapped_with, model.id > after)
                    .order_by(model.id)
                    .limit(REWRAP_BATCH)
                ).all()
                for row in rows:
                    count += _rewrap(session, model, row, keys)
                    seen += 1
                    if progress is not None:
                        progress(seen, total)
            if len(rows) < REWRAP_BATCH:
                break
            after = rows[-1].id
    return count


def _rewrap(session: Session, model: type[Any], row: Any, keys: KeyProvider) -> int:
    """Re-wrap one row's data key with the current KEK (context: its blob key). Rows whose blob is not
    written yet hold no key and are skipped; a row changed meanwhile (by another rotation) is left."""
    if row.blob_key is None or row.kek_id is None or row.wrapped_dek is None:
        return 0
    context = row.blob_key.encode()
    dek = keys.unwrap_data_key(WrappedKey(kek_id=row.kek_id, ciphertext=row.wrapped_dek), context=context)
    wrapped = keys.wrap_data_key(dek, context=context)
    changed = session.execute(
        update(model)
        .where(model.id == row.id, model.kek_id == row.kek_id, model.wrapped_dek == row.wrapped_dek)
        .values(kek_id=wrapped.kek_id, wrapped_dek=wrapped.ciphertext)
        .execution_options(synchronize_session=False)
    )
    return 1 if getattr(changed, "rowcount", 0) else 0
