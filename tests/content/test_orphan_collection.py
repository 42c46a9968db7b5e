"""The orphan collector never deletes a blob whose version is about to commit, whatever the grace."""

import os
import threading
import time
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from strongroom.content import maintenance, uploads
from strongroom.content.models import PendingBlob
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.storage.sealed_blobs import SealedBlobWriter, read_plaintext
from tests.support.live import LiveServer
from tests.support.users import UserFixture

SEG = 64 * 1024  # the test settings' segment size


def _seal(runtime: Runtime, version_id: str, data: bytes) -> uploads.SealedBlob:
    writer = SealedBlobWriter(
        store=runtime.blobs, keys=runtime.keys, aad_id=version_id.encode(), segment_size=SEG
    )
    writer.write(data)
    return writer.finish()


def test_a_durable_blob_whose_version_has_not_committed_survives_gc_with_no_grace(
    runtime: Runtime, alice: UserFixture
) -> None:
    data = os.urandom(3 * SEG + 5)
    with transaction(runtime.sessions) as session:
        plan = uploads.prepare_upload(session, alice.actor, folder_id=alice.root_id, name="cctv.mp4")
    sealed = _seal(runtime, plan.version_id, data)  # durable; the version row is not committed yet

    removed = maintenance.collect_orphan_blobs(
        runtime.sessions, runtime.blobs, clock=runtime.clock, grace=timedelta(0)
    )

    assert sealed.blob_key not in removed
    with transaction(runtime.sessions) as session:
        _file, version = uploads.commit_upload(
            session,
            alice.actor,
            plan=plan,
            sealed=sealed,
            clock=runtime.clock,
            store=runtime.blobs,
            keys=runtime.keys,
        )
        version_id, blob_key, wrapped = version.id, version.blob_key, version.wrapped_dek
        kek_id = version.kek_id
    from strongroom.storage.keys import WrappedKey

    chunks = read_plaintext(
        store=runtime.blobs,
        keys=runtime.keys,
        blob_key=blob_key,
        wrapped_dek=WrappedKey(kek_id=kek_id, ciphertext=wrapped),
        aad_id=version_id.encode(),
        plaintext_size=len(data),
    )
    assert b"".join(chunks) == data
    # Once its version names it, the pending record is tidied away by the next run.
    maintenance.collect_orphan_blobs(runtime.sessions, runtime.blobs, clock=runtime.clock, grace=timedelta(0))
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(PendingBlob)) == 0


def test_a_pending_blob_whose_writer_never_committed_is_collected_after_the_hold(
    runtime: Runtime, alice: UserFixture
) -> None:
    sealed = _seal(runtime, "ver_never_committed", os.urandom(100))
    path = runtime.settings.blob_path / sealed.blob_key[:2] / sealed.blob_key[2:4] / sealed.blob_key
    old = time.time() - (maintenance.PENDING_HOLD + timedelta(minutes=1)).total_seconds()
    os.utime(path, (old, old))
    removed = maintenance.collect_orphan_blobs(
        runtime.sessions, runtime.blobs, clock=runtime.clock, grace=timedelta(0)
    )
    assert removed == [sealed.blob_key]
    assert not path.exists()
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(PendingBlob)) == 0
    assert alice.id  # the user exists only so the store has a tree to belong to


def test_concurrent_uploads_survive_a_gc_loop_with_no_grace(
    runtime: Runtime, live_server: LiveServer, alice: UserFixture
) -> None:
    stop = threading.Event()
    runs = 0

    def collect() -> None:
        nonlocal runs
        while not stop.is_set():
            maintenance.collect_orphan_blobs(
                runtime.sessions, runtime.blobs, clock=runtime.clock, grace=timedelta(0)
            )
            runs += 1

    bodies = {f"clip-{n}.bin": os.urandom(SEG * (n % 3) + 1000 + n) for n in range(40)}
    acknowledged: dict[str, str] = {}

    def upload(names: list[str]) -> None:
        with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=60) as http:
            for name in names:
                response = http.put(f"/api/v1/folders/root/files/{name}", content=bodies[name])
                if response.status_code == 201:
                    acknowledged[name] = response.json()["id"]
                else:
                    print(response.status_code, response.text)

    collector = threading.Thread(target=collect)
    collector.start()
    names = sorted(bodies)
    writers = [threading.Thread(target=upload, args=(names[i::4],)) for i in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    stop.set()
    collector.join(timeout=120)

    assert runs > 0
    assert set(acknowledged) == set(bodies)
    with httpx.Client(base_url=live_server.url, headers=alice.headers, timeout=60) as http:
        for name, file_id in acknowledged.items():
            response = http.get(f"/api/v1/files/{file_id}/content")
            assert response.status_code == 200, (name, response.text)
            assert response.content == bodies[name]
