"""The browser door: staff pages, static files, the session cookie and the security middleware.

`install(app, runtime)` mounts it all; the sharing door adds its external pages (/s/, /r/) itself,
rendering with `strongroom.web.templating` so every page shares one layout and one stylesheet.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from strongroom.runtime import Runtime
from strongroom.web.security import WebSecurityMiddleware
from strongroom.web.templating import STATIC_DIR

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


def install(app: FastAPI, runtime: Runtime) -> None:
    from strongroom.web.pages import (
        admin,
        admin_groups,
        classification,
        files,
        login,
        metadata,
        mfa,
        my_sharing,
        people,
        search,
        settings,
        source,
        sso,
    )

    app.add_middleware(WebSecurityMiddleware, runtime=runtime)
    app.mount("/static", StaticAssets(directory=STATIC_DIR, follow_symlink=False), name="static")
    for module in (
        login,
        files,
        admin,
        settings,
        my_sharing,
        classification,
        source,
        people,
        admin_groups,
        sso,
        mfa,
        search,
        metadata,
    ):
        app.include_router(module.router)
