"""The Range requests of one playback, made in parallel as players make them, are one "played"
record: a request whose bytes are already on record (chained, or committed and still waiting for the
sequencer) writes nothing at all, so it is not a write transaction with an fsync of its own."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from strongroom.audit.models import AuditEvent, PendingAuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def _trail(runtime: Runtime) -> tuple[int, int]:
    with transaction(runtime.sessions) as session:
        chained = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
        pending = session.scalar(select(func.count()).select_from(PendingAuditEvent)) or 0
    return chained, pending


def test_parallel_range_requests_of_one_playback_are_one_record(
    runtime: Runtime, client: TestClient, alice: UserFixture
) -> None:
    data = bytes(range(256)) * 400
    r = client.put(
        f"/api/v1/folders/{alice.root_id}/files/bodycam.mp4",
        content=data,
        headers={**alice.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 201, r.text
    file_id = r.json()["id"]
    url = f"/api/v1/files/{file_id}/content?playback=player-one-1"
    first = client.get(url, headers={**alice.headers, "Range": "bytes=0-"})
    assert first.status_code == 206
    before = _trail(runtime)

    def seek(start: int) -> int:
        got = client.get(url, headers={**alice.headers, "Range": f"bytes={start}-{start + 65535}"})
        assert got.content == data[start : start + 65536]
        return got.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(seek, range(0, len(data) - 65536, 4096))) == {206}
    assert _trail(runtime) == before  # nothing written: the whole file was already on record
    with transaction(runtime.sessions) as session:
        plays = list(
            session.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.item_id == file_id, AuditEvent.action == "content.version.played"
                )
            )
        )
    assert [json.loads(d)["range"] for d in plays] == [[0, len(data) - 1]]
