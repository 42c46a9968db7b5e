"""/metrics in Prometheus text format: what an operator graphs and alerts on."""

from __future__ import annotations

import os
import re

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_latency_and_bytes_by_route_template(client: TestClient, alice: UserFixture) -> None:
    data = os.urandom(150_000)
    put = client.put("/api/v1/folders/root/files/cctv.mp4", content=data, headers=alice.headers)
    assert put.status_code == 201
    got = client.get(f"/api/v1/files/{put.json()['id']}/content", headers=alice.headers)
    assert got.content == data
    client.get("/api/v1/files/" + "0" * 26, headers=alice.headers)  # a 404
    figures = scrape(client)
    assert figures[("strongroom_received_bytes_total", (("door", "api"),))] >= len(data)
    assert figures[("strongroom_sent_bytes_total", (("door", "api"),))] >= len(data)
    route = "/api/v1/files/{file_id}/content"
    count = figures[
        (
            "strongroom_request_duration_seconds_count",
            (("method", "GET"), ("route", route), ("status", "200")),
        )
    ]
    assert count == 1
    assert figures[
        ("strongroom_request_duration_seconds_count",
         (("method", "GET"), ("route", "/api/v1/files/{file_id}"), ("status", "404")))
    ] == 1  # fmt: skip
    # No label carries an id: the series stay few however many files there are.
    assert not any(re.search(r"[0-9a-z]{26}", str(labels)) for _, labels in figures)


def test_queue_depth_and_audit_checkpoint_lag(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    before = scrape(client)
    assert before[("strongroom_metrics_database_up", ())] == 1
    with transaction(runtime.sessions) as session:
        for _ in range(3):
            runtime.jobs.enqueue(session, "test.nothing", {})
    assert (
        # Bytes no skill or preview takes, so the upload queues no job of its own.
        client.put("/api/v1/folders/root/files/a.bin", content=b"\x00\xff", headers=alice.headers).status_code
        == 201
    )
    after = scrape(client)
    queued = ("strongroom_queue_jobs", (("status", "queued"),))
    assert after[queued] == before[queued] + 3
    lag = ("strongroom_audit_events_since_checkpoint", ())
    assert after[lag] > before[lag]  # the upload's audit events are not yet in a signed checkpoint
    assert client.post("/api/v1/audit/checkpoints", headers=alice.headers).status_code in {201, 403}


def test_metrics_answer_while_the_database_is_down(runtime: Runtime, client: TestClient) -> None:
    runtime.engine.dispose()
    runtime.engine.pool._creator = lambda *_a, **_k: (_ for _ in ()).throw(OSError("database gone"))
    figures = scrape(client)
    assert figures[("strongroom_metrics_database_up", ())] == 0


def test_made_up_methods_and_paths_add_no_series(client: TestClient) -> None:
    """A stranger sending made-up methods and paths must not grow /metrics (and the server's memory)
    without bound: each is one request to refuse, not a new series kept forever."""

    def series(figures: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[tuple[str, ...]]:
        return {
            tuple(value for key, value in labels if key != "le")
            for name, labels in figures
            if name.startswith("strongroom_request_duration")
        }

    before = series(scrape(client))
    for n in range(20):
        client.request(f"PROBE{n}", "/api/v1/files")
        client.request(f"PROBE{n}", f"/dav/x{n}/y{n}/z{n}")
        client.get(f"/nowhere-{n}/{n}")
        client.get(f"/s/token{n}/folders/f{n}")
    after = series(scrape(client))
    assert len(after - before) < 10  # a few series per route and status, never one per request
    assert not any("PROBE" in str(labels) for labels in after)
