"""FastAPI dependencies: the runtime, a unit of work, and the actor behind the request."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

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
    clear = bearer_token(request)
    if clear is None:
        return _session_actor(request)
    origin = origin_of(request)
    try:
        with transaction(runtime.sessions) as session:
            return tokens.authenticate_token(session, clear, origin=origin, clock=runtime.clock)
    except Unauthenticated:
        _record_rejection(runtime, origin)
        raise


@contextmanager
def signed_in(runtime: Runtime, request: Request) -> Iterator[tuple[Session, Actor]]:
    """One unit of work that checks the request's credentials first, then does the door's work in the
    same transaction: on hot reads (a Range GET) the token check and the read share one transaction
    instead of two (issue 14). The check is the same as `authenticate`'s, at every request: a rejected
    token rolls everything back and is recorded as `token.rejected`."""
    clear = bearer_token(request)
    if clear is None:
        actor = _session_actor(request)
        with transaction(runtime.sessions) as session:
            yield session, actor
        return
    origin = origin_of(request)
    checked = False
    try:
        with transaction(runtime.sessions) as session:
            actor = tokens.authenticate_token(session, clear, origin=origin, clock=runtime.clock)
            checked = True
            yield session, actor
    except Unauthenticated:
        if not checked:
            _record_rejection(runtime, origin)
        raise


def _session_actor(request: Request) -> Actor:
    session_actor = getattr(request.state, "session_actor", None)
    if isinstance(session_actor, Actor):
        return session_actor
    raise Unauthenticated("Sign in, or send 'Authorization: Bearer <personal access token>'.")


def _record_rejection(runtime: Runtime, origin: Origin) -> None:
    with transaction(runtime.sessions) as session:
        events.record(
            session,
            Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=origin),
            AuditAction.TOKEN_REJECTED,
            at=runtime.clock.now(),
        )


def current_actor(request: Request, runtime: RuntimeDep) -> Actor:
    return authenticate(runtime, request)


CurrentActor = Annotated[Actor, Depends(current_actor)]


IfMatch = Annotated[str | None, Header(alias="If-Match", description="An ETag from a previous read.")]
