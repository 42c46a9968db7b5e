import threading

from strongroom.db.session import transaction
from strongroom.jobs.queue import MAX_ATTEMPTS, DatabaseJobQueue
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(runtime: Runtime) -> None:
    queue = DatabaseJobQueue(runtime.sessions, runtime.clock)
    try:
        with transaction(runtime.sessions) as session:
            queue.enqueue(session, "demo", {"n": 1})
            raise RuntimeError("the change failed")  # noqa: TRY301
    except RuntimeError:
        pass
    assert queue.claim() is None
    with transaction(runtime.sessions) as session:
        queue.enqueue(session, "demo", {"n": 2})
    job = queue.claim()
    assert job is not None
    assert job.payload == {"n": 2}
    assert queue.claim() is None  # claimed jobs are not handed out twice


def test_worker_runs_handlers_and_retries_failures_with_backoff(runtime: Runtime) -> None:
    queue = DatabaseJobQueue(runtime.sessions, runtime.clock)
    seen: list[int] = []
    attempts = {"flaky": 0}

    def ok(_rt: Runtime, payload: dict[str, object]) -> None:
        seen.append(int(str(payload["n"])))

    def flaky(_rt: Runtime, _payload: dict[str, object]) -> None:
        attempts["flaky"] += 1
        raise RuntimeError("clamd is down")

    with transaction(runtime.sessions) as session:
        for n in range(3):
            queue.enqueue(session, "ok", {"n": n})
        queue.enqueue(session, "flaky", {})
    worker = Worker(runtime, queue, {"ok": ok, "flaky": flaky}, [])
    assert worker.run_until_idle() == 4
    assert sorted(seen) == [0, 1, 2]
    assert attempts["flaky"] == 1
    assert queue.pending("flaky") == 1  # back in the queue, later
    assert queue.claim() is None  # not before its backoff expires
    assert MAX_ATTEMPTS > 1


def test_two_workers_never_get_the_same_job(runtime: Runtime) -> None:
    queue = DatabaseJobQueue(runtime.sessions, runtime.clock)
    with transaction(runtime.sessions) as session:
        for n in range(40):
            queue.enqueue(session, "count", {"n": n})
    got: list[int] = []
    lock = threading.Lock()

    def drain() -> None:
        while (job := queue.claim()) is not None:
            with lock:
                got.append(int(str(job.payload["n"])))
            queue.complete(job.id)

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(40))
