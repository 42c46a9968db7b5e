"""Route modules and mounted doors imported at their first request, not at start (issue 14).

Importing a door's route modules and building their routes was about a third of the server's
start-up CPU, and the routes of doors nobody calls stayed in every idle server's memory. A lazy
group keeps its place in the route order: an empty router is included where the group's routes
belong when the app is built, and the group's modules add their routes to it when the first
request under one of the group's first path segments arrives, or when the OpenAPI document is
built (it lists every route). A route can only match a path with its own first segment, so a
request never misses a route of a group not loaded yet.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send


def first_segment(path: str, under: str) -> str | None:
    """The path's first segment after `under` ("/api/v1/files/x" under "/api/v1": "files")."""
    if not path.startswith(under + "/"):
        return None
    return path[len(under) + 1 :].split("/", 1)[0]


@dataclass(eq=False)
class LazyRoutes:
    """Route modules (each with a `router`) loaded together into `router` at their first use."""

    package: str
    modules: tuple[str, ...]
    under: str  # the path prefix the segments follow: "/api/v1", or "" for top-level paths
    segments: frozenset[str]
    router: APIRouter = field(default_factory=APIRouter)
    loaded: bool = False

    def load(self) -> None:
        # Called from the event loop with no await in between: one loop loads a group once.
        if self.loaded:
            return
        for name in self.modules:
            self.router.include_router(importlib.import_module(f"{self.package}.{name}").router)
        self.loaded = True


class RoutesOnFirstUse:
    """ASGI middleware: loads the lazy groups a request's path could need before routing it."""

    def __init__(self, app: ASGIApp, *, groups: Iterable[LazyRoutes]) -> None:
        self.app = app
        self.waiting: dict[tuple[str, str], list[LazyRoutes]] = {}
        for group in groups:
            for segment in group.segments:
                self.waiting.setdefault((group.under, segment), []).append(group)
        self.unders = {under for under, _ in self.waiting}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.waiting and scope["type"] in {"http", "websocket"}:
            for under in self.unders:
                segment = first_segment(scope["path"], under)
                if segment is not None and (groups := self.waiting.pop((under, segment), None)):
                    for group in groups:
                        group.load()
                    # Forget what is loaded, so once everything is, a request pays one test.
                    self.waiting = {
                        key: left
                        for key, groups in self.waiting.items()
                        if (left := [g for g in groups if not g.loaded])
                    }
        await self.app(scope, receive, send)


def load_all(groups: Iterable[LazyRoutes]) -> None:
    for group in groups:
        group.load()


class AppOnFirstUse:
    """A mounted door (an ASGI app) imported and built at its first request."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self.build = build
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:  # no await before this is set: one event loop builds it once
            self.app = self.build()
        await self.app(scope, receive, send)
