"""create_app(runtime): the ASGI application with its doors mounted."""

from fastapi import FastAPI
from starlette.types import ASGIApp

from strongroom import __version__, api, health, lazy_routes, web
from strongroom.api import errors as api_errors
from strongroom.api import openapi_doc, scim_door
from strongroom.client_address import ClientAddressMiddleware
from strongroom.metrics import Metrics, MetricsMiddleware
from strongroom.metrics import router as metrics_router
from strongroom.outages import OutageGuard
from strongroom.request_log import RequestIdMiddleware
from strongroom.runtime import Runtime

# Public pages outside the staff pages' paths, imported at their first request (strongroom.lazy_routes).
_PAGES = "strongroom.web.pages"


def _dav_door(runtime: Runtime) -> ASGIApp:
    from strongroom.dav import app as dav_app

    return dav_app.build(runtime)


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Strongroom",
        version=__version__,
        description="Store, share and prove: evidence and documents for police forces.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; ours is vendored (web/pages/api_docs.py)
        redoc_url=None,
    )
    app.state.runtime = runtime
    api_errors.install(app)
    groups = api.route_groups()
    api.include(app, groups)
    web.install(app, runtime)  # browser door: staff pages, static files, session cookie, security headers
    public_pages = [
        # /api/v1/docs: Swagger UI served from /static, no CDN
        lazy_routes.LazyRoutes(_PAGES, ("api_docs",), "/api/v1", frozenset({"docs"})),
        # public pages of shared links (/s/<token>), their subfolders and zips (/s/<token>/folders, /zip)
        lazy_routes.LazyRoutes(_PAGES, ("shared_link", "shared_folder"), "", frozenset({"s"})),
        # public pages of upload requests: /r/<token>
        lazy_routes.LazyRoutes(_PAGES, ("upload_request",), "", frozenset({"r"})),
    ]
    for group in public_pages:
        app.include_router(group.router)
    groups += public_pages
    app.add_middleware(lazy_routes.RoutesOnFirstUse, groups=groups)
    app.include_router(scim_door.router)  # SCIM 2.0 door for the force's directory: /scim/v2
    app.mount("/dav", lazy_routes.AppOnFirstUse(lambda: _dav_door(runtime)))  # WebDAV door: mount a drive
    # Added last, so it runs first: every door, the session lookup included, sees the decided address.
    app.add_middleware(ClientAddressMiddleware, trusted_proxies=runtime.settings.server.trusted_proxies)
    # Added last, so outermost: an outage anywhere below (middleware included) is a 503/507 answer.
    app.add_middleware(OutageGuard)
    # Outside the outage guard, so a 503 answer is timed and counted too.
    app.state.metrics = Metrics(runtime)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    # Outermost of all: the request id is set before anything logs and echoed on every answer.
    app.add_middleware(RequestIdMiddleware, trusted_proxies=runtime.settings.server.trusted_proxies)
    app.include_router(health.router)  # /healthz (alive) and /readyz (database, blobs, keys)
    app.include_router(metrics_router)  # /metrics: Prometheus text format
    # problem+json errors, the bearer scheme, readable operation ids; every lazy route listed
    openapi_doc.install(app, load_routes=lambda: lazy_routes.load_all(groups))

    return app
