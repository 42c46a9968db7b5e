"""FastAPI dependencies: the runtime, a unit of work, and the actor behind the request."""

from typing import Annotated

from fastapi import Depends, Header, Request

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.db.session import transaction
from strongroom.errors import Unauthenticated
from strongroom.identity import tokens
from strongroom.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def origin_of(request: Request) -> Origin:
    return Origin(
        ip=request.client.host if request.client else None, user_agent=request.headers.get("user-agent")
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate(runtime: Runtime, request: Request) -> Actor:
    """The actor of a request: a personal access token (Bearer), or the web session set by the web door."""
    origin = origin_of(request)
    clear = bearer_token(request)
    session_actor = getattr(request.state, "session_actor", None)
    if clear is None and isinstance(session_actor, Actor):
        return session_actor
    if clear is None:
        raise Unauthenticated("Sign in, or send 'Authorization: Bearer <personal access token>'.")
    try:
        with transaction(runtime.sessions) as session:
            return tokens.authenticate_token(session, clear, origin=origin, clock=runtime.clock)
    except Unauthenticated:
        with transaction(runtime.sessions) as session:
            events.record(
                session,
                Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=origin),
                AuditAction.TOKEN_REJECTED,
                at=runtime.clock.now(),
            )
        raise


def current_actor(request: Request, runtime: RuntimeDep) -> Actor:
    return authenticate(runtime, request)


CurrentActor = Annotated[Actor, Depends(current_actor)]


IfMatch = Annotated[str | None, Header(alias="If-Match", description="An ETag from a previous read.")]
