"""Operator jobs over all content: orphan-blob collection and key rotation (verification: scrub.py).

These run as the system actor from the CLI or the worker, never on behalf of a user.
"""

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from strongroom.actors import Actor
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.clock import Clock
from strongroom.content.models import FileRendition, FileVersion, PendingBlob, TusUpload
from strongroom.db.session import transaction
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
) -> list[str]:
    """Delete blobs no version, rendition or upload refers to (left by crashes or failed commits) and
    abandoned partial writes, if older than `grace`. `keep` names more blobs in use (higher domains'
    blobs, such as upload-request chunks waiting for their submission). Returns the deleted keys.

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
    for key in removed:
        store.delete(key)
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
WRAPPED_KEY_HOLDERS: tuple[type[Any], ...] = (FileVersion, TusUpload, FileRendition)


def rotate_keys(
    sessions: sessionmaker[Session],
    keys: KeyProvider,
    *,
    clock: Clock,
    retire_old: bool = True,
    more_holders: Sequence[type[Any]] = (),
) -> tuple[str, int]:
    """Make a new key-encryption key current and re-wrap every data key with it; blobs are not touched.
    With `retire_old`, older KEKs are forgotten afterwards. Returns the new KEK id and how many data keys
    were re-wrapped."""
    new_kek = keys.add_kek()
    count = 0
    with transaction(sessions) as session:
        for model in (*WRAPPED_KEY_HOLDERS, *more_holders):
            for row in session.scalars(select(model).where(model.kek_id != new_kek)):
                count += _rewrap(row, keys)
        events.record(
            session,
            Actor.system(label="key rotation"),
            AuditAction.KEYS_ROTATED,
            details={"new_kek_id": new_kek, "rewrapped": count, "retire_old": retire_old},
            at=clock.now(),
        )
    if retire_old:
        for kek_id in keys.kek_ids():
            if kek_id != new_kek:
                keys.retire_kek(kek_id)
    return new_kek, count


def _rewrap(row: Any, keys: KeyProvider) -> int:
    """Re-wrap one row's data key with the current KEK (context: its blob key). Rows whose blob is not
    written yet hold no key and are skipped."""
    if row.blob_key is None or row.kek_id is None or row.wrapped_dek is None:
        return 0
    context = row.blob_key.encode()
    dek = keys.unwrap_data_key(WrappedKey(kek_id=row.kek_id, ciphertext=row.wrapped_dek), context=context)
    wrapped = keys.wrap_data_key(dek, context=context)
    row.kek_id, row.wrapped_dek = wrapped.kek_id, wrapped.ciphertext
    return 1
