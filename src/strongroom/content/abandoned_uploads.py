"""Reaping abandoned resumable (tus) uploads: every expired one, however many, in one run.

`resumable_uploads.expire_uploads` removes one batch (row and partial blob); this runs batches until
none is left, so a burst of abandoned uploads never leaves a backlog waiting for the next period.
"""

from typing import Final

from sqlalchemy.orm import Session, sessionmaker

from strongroom.clock import Clock
from strongroom.content import resumable_uploads
from strongroom.storage.blobs import BlobStore

BATCH: Final = 500


def reap_expired_uploads(
    sessions: sessionmaker[Session], store: BlobStore, *, clock: Clock, batch: int = BATCH
) -> int:
    """Remove every upload past its expiry and its stored bytes; returns how many."""
    total = 0
    while True:
        removed = resumable_uploads.expire_uploads(sessions, store, clock=clock, batch=batch)
        total += removed
        if removed < batch:
            return total
