"""The WebDAV door (class 1 and 2), an ASGI app mounted at /dav.

`/dav/` is the signed-in user's "All files". Clients sign in with HTTP Basic whose password is a
personal access token (so SSO users, who have no password, can mount a drive); the user name may be
left empty or must be the account's e-mail, optionally followed by `#` and the reason for reading
classified material (see `stated_reason`). Every method calls the same content services as the REST
API, so permissions, locks, audit events and limits are the same whichever door is used.
"""

import base64
import binascii
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from strongroom import errors
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, reasons
from strongroom.audit.events import AuditAction
from strongroom.dav import locking, reading, writing
from strongroom.dav.context import DavContext, DavStatus
from strongroom.dav.locks import Preconditions, parse_if
from strongroom.dav.resources import OutsideMount, split_path
from strongroom.db.session import transaction
from strongroom.identity import tokens
from strongroom.outages import outage_response
from strongroom.runtime import Runtime

REALM = 'Basic realm="Strongroom", charset="UTF-8"'

# Domain errors → HTTP status, most specific first: the one table for this door.
STATUS: list[tuple[type[errors.StrongroomError], int]] = [
    (errors.RangeNotSatisfiable, 416),
    (OutsideMount, 502),
    (errors.InputError, 400),
    (errors.TooLarge, 413),
    (errors.Unauthenticated, 401),
    (errors.NotFound, 404),
    (errors.NotAllowed, 403),
    (errors.ItemLocked, 423),
    (errors.Conflict, 409),
    (errors.VersionChanged, 412),
    (errors.Gone, 410),
    (errors.ReasonRequired, 428),
    (errors.RateLimited, 429),
    (errors.Unavailable, 503),
    (errors.StorageFull, 507),
]

Handler = Callable[[DavContext], Awaitable[Response]]

METHODS: dict[str, Handler] = {
    "PROPFIND": reading.propfind,
    "GET": lambda ctx: reading.get(ctx, head=False),
    "HEAD": lambda ctx: reading.get(ctx, head=True),
    "PUT": writing.put,
    "MKCOL": writing.mkcol,
    "DELETE": writing.delete,
    "COPY": lambda ctx: writing.copy_or_move(ctx, move=False),
    "MOVE": lambda ctx: writing.copy_or_move(ctx, move=True),
    "PROPPATCH": writing.proppatch,
    "LOCK": locking.lock,
    "UNLOCK": locking.unlock,
}


def status_of(exc: errors.StrongroomError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def _credentials(request: Request) -> tuple[str | None, str] | None:
    """(user name, token) from Basic or Bearer credentials; None when there are none."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return None, value.strip()
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise errors.Unauthenticated("The Basic credentials are not valid base64 UTF-8.") from exc
    user, sep, secret = decoded.partition(":")
    if not sep or not secret:
        raise errors.Unauthenticated("Send your e-mail and a personal access token as the password.")
    return user, secret


def stated_reason(request: Request) -> str | None:
    """The reason for reading classified material: the `X-Strongroom-Reason` header, or, for drive
    clients that cannot send headers, what follows `#` in the Basic user name
    (`alice@force.example#Op Trident disclosure review`). Raises InputError when too long."""
    header = request.headers.get(reasons.HEADER)
    if header is not None:
        return reasons.clean_reason(header)
    credentials = _credentials(request)
    if credentials is None or credentials[0] is None:
        return None
    _, mark, reason = credentials[0].partition("#")
    return reasons.clean_reason(reason) if mark else None


def authenticate(runtime: Runtime, request: Request) -> Actor:
    """The actor behind the request. Raises Unauthenticated (401 with a Basic challenge)."""
    origin = Origin(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )
    credentials = _credentials(request)
    if credentials is None:
        raise errors.Unauthenticated("Sign in with your e-mail and a personal access token as the password.")
    user, secret = credentials
    user = user.partition("#")[0] if user else user  # what follows "#" is a reason (stated_reason)
    try:
        with transaction(runtime.sessions) as session:
            actor = tokens.authenticate_token(session, secret, origin=origin, clock=runtime.clock)
    except errors.Unauthenticated:
        _record_rejection(runtime, origin)
        raise
    # A token is enough to sign in; a user name, when given, must not point at someone else.
    if user and user.strip().casefold() != actor.label.casefold():
        _record_rejection(runtime, origin)
        raise errors.Unauthenticated("The user name must be the e-mail address of the token's account.")
    return actor


def _record_rejection(runtime: Runtime, origin: Origin) -> None:
    with transaction(runtime.sessions) as session:
        anonymous = Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=origin)
        events.record(
            session, anonymous, AuditAction.TOKEN_REJECTED, details={"via": "dav"}, at=runtime.clock.now()
        )


def error_response(
    status: int, message: str, *, body: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    if body is not None:
        return Response(
            body, status_code=status, media_type="application/xml; charset=utf-8", headers=headers
        )
    return Response(
        message + "\n", status_code=status, media_type="text/plain; charset=utf-8", headers=headers
    )


class DavApp:
    """ASGI entry: authenticate, evaluate nothing yet, dispatch by method, map errors to statuses."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        if method == "OPTIONS":
            return reading.options_response()
        handler = METHODS.get(method)
        if handler is None:
            return error_response(
                405, f"{method} is not a WebDAV method here.", headers={"Allow": reading.ALLOW}
            )
        try:
            actor = await run_in_threadpool(authenticate, self.runtime, request)
            mount = request.scope.get("root_path", "") or "/dav"
            path = request.scope["path"]
            relative = path.removeprefix(mount)
            if_header = " ".join(request.headers.getlist("if")) or None
            ctx = DavContext(
                runtime=self.runtime,
                request=request,
                actor=actor,
                mount=mount,
                segments=split_path(relative),
                pre=Preconditions(lists=parse_if(if_header), mount=mount),
                reason=stated_reason(request),
            )
            return await handler(ctx)
        except DavStatus as exc:
            return error_response(exc.status, exc.message, body=exc.body)
        except (errors.Unavailable, errors.StorageFull) as exc:
            # Outages answer the same JSON, with Retry-After, on every door (strongroom.outages).
            status, raw_headers, body = outage_response(exc, as_html=False)
            return Response(
                body, status_code=status, headers={k.decode(): v.decode() for k, v in raw_headers}
            )
        except errors.StrongroomError as exc:
            headers: dict[str, str] = {}
            if isinstance(exc, errors.Unauthenticated):
                headers["WWW-Authenticate"] = REALM
            if isinstance(exc, errors.RangeNotSatisfiable) and "size" in exc.data:
                headers["Content-Range"] = f"bytes */{exc.data['size']}"
            return error_response(status_of(exc), exc.message, headers=headers)


def build(runtime: Runtime) -> DavApp:
    return DavApp(runtime)
