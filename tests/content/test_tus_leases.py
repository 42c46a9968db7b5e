"""tus leases: taken under a row lock, so two live requests never both hold one upload (both databases)."""

import threading
import time

import pytest
from sqlalchemy import update

from strongroom.content import resumable_uploads
from strongroom.content.models import TusUpload
from strongroom.content.resumable_uploads import UploadBusy
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def _new_upload(runtime: Runtime, user: UserFixture) -> str:
    with transaction(runtime.sessions) as session:
        upload = resumable_uploads.create_upload(
            session,
            user.actor,
            folder_id=user.root_id,
            name="interview.wav",
            length=1000,
            content_type=None,
            upload_metadata=None,
            keys=runtime.keys,
            clock=runtime.clock,
            segment_bytes=4096,
            max_bytes=10_000,
        )
        return upload.id


def test_a_second_request_waits_for_the_first_lease_and_is_refused(
    runtime: Runtime, alice: UserFixture
) -> None:
    upload_id = _new_upload(runtime, alice)

    def take(session: object) -> None:
        resumable_uploads.take_lease(
            session,  # type: ignore[arg-type]  # a Session; typed loosely to share the helper
            alice.actor,
            upload_id=upload_id,
            offset=0,
            keys=runtime.keys,
            store=runtime.blobs,
            clock=runtime.clock,
        )

    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with transaction(runtime.sessions) as session:
                take(session)
        except UploadBusy as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    first = runtime.sessions()
    try:
        take(first)
        first.flush()  # the first request's lease is written but not committed yet
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # let the second request reach the row while the first holds it
        first.commit()
    finally:
        first.close()
    thread.join(timeout=60)
    assert len(outcome) == 1
    assert isinstance(outcome[0], UploadBusy), "two requests both took the lease of one upload"


@pytest.mark.parametrize("gone", [True, False])
def test_a_lease_of_a_gone_writer_is_taken_over_at_once(
    runtime: Runtime, alice: UserFixture, gone: bool
) -> None:
    upload_id = _new_upload(runtime, alice)
    owner = "ab" * 16  # a writer id no live process holds: its lock file does not exist
    with transaction(runtime.sessions) as session:
        lease = resumable_uploads.take_lease(
            session,
            alice.actor,
            upload_id=upload_id,
            offset=0,
            keys=runtime.keys,
            store=runtime.blobs,
            clock=runtime.clock,
        )
        if gone:
            session.execute(update(TusUpload).where(TusUpload.id == upload_id).values(lease_owner=owner))
    with transaction(runtime.sessions) as session:
        if gone:
            resumable_uploads.take_lease(
                session,
                alice.actor,
                upload_id=upload_id,
                offset=0,
                keys=runtime.keys,
                store=runtime.blobs,
                clock=runtime.clock,
            )
        else:
            with pytest.raises(UploadBusy):
                resumable_uploads.take_lease(
                    session,
                    alice.actor,
                    upload_id=upload_id,
                    offset=0,
                    keys=runtime.keys,
                    store=runtime.blobs,
                    clock=runtime.clock,
                )
    assert lease.upload_id == upload_id
