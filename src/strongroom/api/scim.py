"""SCIM 2.0 door at /scim/v2: the force's directory (Entra ID, Okta...) provisions users and groups.

Protocol work (routing, validation, PATCH, ETags, filters, paging, errors) is scim2-server's; the
storage (`scim_storage.py`) reads and writes through `identity.directory`. Every request but the
ServiceProviderConfig needs `Authorization: Bearer <provisioning token>` (`strongroom users
scim-token`); personal access tokens and passwords are refused. One request is one transaction.
"""

import json
from functools import cache, partial
from urllib.parse import parse_qsl, quote

from fastapi import Request, Response
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ETag,
    External,
    Filter,
    Patch,
    PayloadTooLargeException,
    Reference,
    SCIMException,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
)
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.utils import load_default_resource_types, load_default_schemas
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from strongroom.actors import Actor, ActorKind, Origin
from strongroom.api.deps import get_runtime, origin_of
from strongroom.api.scim_door import PREFIX
from strongroom.api.scim_storage import DirectoryStorage
from strongroom.audit import events
from strongroom.audit.events import AuditAction
from strongroom.db.session import on_commit, transaction
from strongroom.errors import Unauthenticated
from strongroom.identity import directory
from strongroom.runtime import Runtime

MAX_RESULTS = 200
MAX_BODY_BYTES = 16 << 20  # a group of 100,000 members fits; anything bigger is not a directory's request


@cache
def scim_service() -> ScimService:
    """What this server announces: users and groups, PATCH, filters, ETags; no bulk, sort or password."""
    config = ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="Provisioning token",
                description="Authorization: Bearer <token from `strongroom users scim-token`>",
                spec_uri=Reference[External]("https://datatracker.ietf.org/doc/html/rfc6750"),
                primary=True,
            )
        ],
    )
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    return ScimService(provider)


def _directory_actor(runtime: Runtime, session: Session, request: ScimRequest, origin: Origin) -> Actor:
    """The directory behind the request's provisioning token. Raises Unauthenticated."""
    scheme, _, value = (request.header("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <provisioning token>'.")
    return directory.authenticate_provisioning_token(
        session, value.strip(), origin=origin, clock=runtime.clock
    )


def _serve(runtime: Runtime, request: ScimRequest, origin: Origin) -> ScimResponse:
    service = scim_service()
    try:
        with transaction(runtime.sessions) as session:
            if service.match(request).operation is Operation.service_provider_config:
                actor = Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=origin)
            else:
                actor = _directory_actor(runtime, session, request, origin)
            storage = DirectoryStorage(session, actor, clock=runtime.clock, service=service)
            response = ScimHandler(service, storage).handle(request)
            for key in storage.discarded_blobs:
                on_commit(session, partial(runtime.blobs.discard_resumable, key))
            return response
    except Unauthenticated:
        with transaction(runtime.sessions) as session:
            anonymous = Actor(kind=ActorKind.ANONYMOUS, id=None, label="anonymous", origin=origin)
            events.record(session, anonymous, AuditAction.PROVISIONING_TOKEN_REJECTED, at=runtime.clock.now())
        return service.error_response(UnauthorizedException())
    except SCIMException as exc:
        return service.error_response(exc)


async def answer(request: Request) -> Response:
    """One SCIM request, whole (api.scim_door routes here, importing this module on first use)."""
    runtime = get_runtime(request)
    # Locations point where the directory reaches us: the configured public address when there is one.
    public = runtime.settings.server.public_url or str(request.base_url)
    base_url = public.rstrip("/") + PREFIX
    path = request.url.path.removeprefix(PREFIX).removesuffix(".scim")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            too_large = scim_service().error_response(
                PayloadTooLargeException(detail=f"A SCIM request body has at most {MAX_BODY_BYTES} bytes.")
            )
            return Response(
                content=json.dumps(too_large.body).encode(), status_code=413, headers=too_large.headers
            )
    scim_request = ScimRequest(
        method=request.method,
        base_url=base_url,
        path=path or "/",
        query=dict(parse_qsl(request.url.query, keep_blank_values=True)),
        headers=list(request.headers.items()),
        body=bytes(body),
    )
    answer = await run_in_threadpool(_serve, runtime, scim_request, origin_of(request))
    # Header values are Latin-1: a path in any other script is sent percent-encoded, not a 500.
    answer.headers.setdefault("Location", quote(scim_request.url, safe=":/?#[]@!$&'()*+,;=%"))
    answer.headers.setdefault("Cache-Control", "no-cache")
    content = b"" if answer.body is None else json.dumps(answer.body).encode()
    return Response(content=content, status_code=int(answer.status), headers=answer.headers)
