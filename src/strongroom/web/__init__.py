"""The browser door: staff pages, static files, the session cookie and the security middleware.

`install(app, runtime)` mounts it all; the sharing door adds its external pages (/s/, /r/) itself,
rendering with `strongroom.web.templating` so every page shares one layout and one stylesheet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from strongroom.lazy_routes import LazyRoutes, RoutesOnFirstUse
from strongroom.runtime import Runtime
from strongroom.web.security import WebSecurityMiddleware

# Here, not in web.templating: serving static files must not load Jinja (issue 14).
STATIC_DIR = Path(__file__).parent / "static"

_TYPES = {
    ".mjs": "text/javascript; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".ftl": "text/plain; charset=utf-8",
    ".bcmap": "application/octet-stream",
    ".wasm": "application/wasm",
}


class StaticAssets(StaticFiles):
    """Static files with exact types and a year of caching: every URL carries a content hash."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in {200, 304}:
            suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
            if suffix in _TYPES:
                response.headers["content-type"] = _TYPES[suffix]
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


# The staff pages' modules, in the order their routes are tried.
_PAGE_MODULES = (
    "login",
    "files",
    "admin",
    "settings",
    "my_sharing",
    "classification",
    "source",
    "people",
    "admin_groups",
    "sso",
    "mfa",
    "search",
    "metadata",
)
# The first path segment of every staff page ("" is the home page): a request under one of them loads
# the pages. tests/web/test_lazy_pages.py checks this against the pages' routes.
PAGE_SEGMENTS = frozenset(
    {"", "accessibility", "admin", "auth", "files", "items", "login", "logout", "my", "people", "search"}
    | {"settings", "shared-with-me", "source", "trash"}
)


def install(app: FastAPI, runtime: Runtime) -> None:
    # A server answering only the API, WebDAV and shared links never loads the staff pages: about
    # 2.4 MiB of memory and 0.15 to 0.2 s of start-up CPU (issue 14).
    pages = LazyRoutes("strongroom.web.pages", _PAGE_MODULES, "", PAGE_SEGMENTS)
    app.add_middleware(WebSecurityMiddleware, runtime=runtime)
    app.add_middleware(RoutesOnFirstUse, groups=[pages])
    app.mount("/static", StaticAssets(directory=STATIC_DIR, follow_symlink=False), name="static")
    app.include_router(pages.router)  # empty until the first page request
