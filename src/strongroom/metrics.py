"""Prometheus metrics at /metrics: request latency, bytes in and out, queue depth, audit checkpoint lag.

Each app has its own registry (tests build many apps in one process; a shared default registry would
refuse the second). Every app process is scraped on its own, as Prometheus expects of a fleet; the
queue and audit figures come from the shared database, so any one process reports them for all.

Labels stay few and bounded: the route's template (`/api/v1/files/{file_id}/content`, never the
id), or the door for what is mounted (WebDAV, shared links, static files).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.audit.models import AuditHead, Checkpoint
from strongroom.db.session import transaction
from strongroom.jobs.models import Job
from strongroom.runtime import Runtime

log = logging.getLogger(__name__)

# Seconds: a page is milliseconds, a large upload minutes.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
_DOORS: Final = (
    ("/dav", "webdav"),
    ("/s/", "shared_link"),
    ("/r/", "upload_request"),
    ("/static/", "static"),
)
# HTTP and WebDAV methods this server answers; any other is labelled OTHER, or a client inventing
# methods would add a series per request and grow /metrics (and memory) without bound.
_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    | {"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"}
)


class Metrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "strongroom_request_duration_seconds",
            "Time from a request's start to its last response byte.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.received = Counter(
            "strongroom_received_bytes",
            "Request body bytes received (uploads).",
            ["door"],
            registry=self.registry,
        )
        self.sent = Counter(
            "strongroom_sent_bytes",
            "Response body bytes sent (downloads).",
            ["door"],
            registry=self.registry,
        )
        self.registry.register(DatabaseFigures(runtime))


def _route_and_door(scope: Scope) -> tuple[str, str]:
    route = scope.get("route")
    path: str = scope.get("path", "")
    template = getattr(route, "path", None)
    if isinstance(template, str) and template:
        # A route of a mounted app knows only its path below the mount: put the mount's prefix back.
        static = template.split("{", 1)[0]
        at = path.find(static) if static else -1
        full = path[:at] + template if at > 0 else template
        return full, "api" if full.startswith("/api/") else "web"
    for prefix, door in _DOORS:
        if path.startswith(prefix):
            return prefix.rstrip("/") or "/", door
    return "other", "web"


class MetricsMiddleware:
    """Times every HTTP request and counts its body bytes in and out, by route template and door."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app ends without answering
        received = sent = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            route, door = _route_and_door(scope)
            method = scope.get("method", "")
            method = method if method in _METHODS else "OTHER"
            self.metrics.latency.labels(method, route, str(status)).observe(time.perf_counter() - started)
            if received:
                self.metrics.received.labels(door).inc(received)
            if sent:
                self.metrics.sent.labels(door).inc(sent)


class DatabaseFigures(Collector):
    """Read at each scrape from the shared database: the job queue and the audit checkpoint lag."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # no fixed description: the figures come from the database at scrape time

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("strongroom_metrics_database_up", "1 if the figures below could be read.")
        try:
            figures = list(self._read())
        except Exception as exc:  # any failure: no figures, but /metrics still answers (and says so)
            log.warning("metrics: database figures unavailable: %s", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _read(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        with transaction(self.runtime.sessions) as session:
            counts = dict(
                session.execute(
                    select(Job.status, func.count())
                    .where(Job.status.in_(("queued", "running")))
                    .group_by(Job.status)
                ).all()
            )
            oldest = session.scalar(select(func.min(Job.run_after)).where(Job.status == "queued"))
            head = session.scalar(select(func.max(AuditHead.seq))) or 0
            last = session.execute(
                select(Checkpoint.tree_size, Checkpoint.created_at)
                .order_by(Checkpoint.tree_size.desc())
                .limit(1)
            ).first()
        depth = GaugeMetricFamily("strongroom_queue_jobs", "Jobs waiting or running.", labels=["status"])
        for status in ("queued", "running"):
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        waited = GaugeMetricFamily(
            "strongroom_queue_oldest_job_age_seconds",
            "How long the oldest queued job has been due (0: none).",
        )
        waited.add_metric([], max((now - _aware(oldest)).total_seconds(), 0) if oldest is not None else 0)
        yield waited
        behind = GaugeMetricFamily(
            "strongroom_audit_events_since_checkpoint", "Audit events not yet covered by a signed checkpoint."
        )
        behind.add_metric([], head - (last[0] if last is not None else 0))
        yield behind
        age = GaugeMetricFamily(
            "strongroom_audit_checkpoint_age_seconds",
            "Seconds since the last signed checkpoint (absent until the first).",
        )
        if last is not None:
            age.add_metric([], max((now - _aware(last[1])).total_seconds(), 0))
        yield age


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format. Meant for the monitoring network: block it at the reverse proxy."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
