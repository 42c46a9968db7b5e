"""LOCK and UNLOCK: take, refresh and release write locks (RFC 4918 §9.10-9.11)."""

from datetime import timedelta

from sqlalchemy.orm import Session
from starlette.responses import Response

from strongroom.content import dav_locks, uploads
from strongroom.content.dav_locks import LockRequest
from strongroom.dav import xml
from strongroom.dav.context import DavContext, DavStatus
from strongroom.dav.locks import active_locks, guard_membership, parse_timeout
from strongroom.dav.resources import locate
from strongroom.dav.writing import create_empty_file
from strongroom.errors import Conflict, InputError, NotFound

XML = "application/xml; charset=utf-8"


async def lock(ctx: DavContext) -> Response:
    depth = (ctx.request.headers.get("depth") or "infinity").strip().lower()
    if depth not in {dav_locks.DEPTH_ZERO, dav_locks.DEPTH_INFINITY}:
        raise InputError("LOCK takes Depth 0 or infinity.")
    timeout = parse_timeout(ctx.request.headers.get("timeout"))
    info = xml.parse_lockinfo(await ctx.small_body())
    if info is None:
        return await _refresh(ctx, timeout)
    request = LockRequest(
        scope=info.scope, depth=depth, owner_xml=info.owner_xml, timeout=dav_locks.clamp_timeout(timeout)
    )

    def prepare(session: Session) -> uploads.UploadPlan | None:
        located = locate(session, ctx.actor, ctx.segments)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        if located.item is not None:
            return None
        if located.parent_chain is None or located.parent is None:
            raise DavStatus(409, "The parent folder does not exist.")
        guard_membership(session, ctx.actor, ctx.pre, located.parent_chain, now=now)
        return uploads.prepare_upload(
            session, ctx.actor, folder_id=located.parent_chain[-1].id, name=located.name
        )

    plan = await ctx.in_transaction(prepare)
    if plan is not None:
        await create_empty_file(ctx, plan)

    def take(session: Session) -> tuple[str, str]:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is None:
            raise NotFound("item", None)
        taken = dav_locks.create_lock(
            session, ctx.actor, item_id=located.item.id, request=request, clock=ctx.runtime.clock
        )
        now = ctx.runtime.clock.now()
        return taken.token, xml.lock_response(active_locks(session, ctx.mount, [taken], now=now))

    token, body = await ctx.in_transaction(take)
    return Response(
        body,
        status_code=201 if plan is not None else 200,
        media_type=XML,
        headers={"Lock-Token": f"<{token}>"},
    )


async def _refresh(ctx: DavContext, span: timedelta | None) -> Response:
    tokens = ctx.pre.tokens
    if not tokens:
        raise InputError("A LOCK without a body refreshes a lock: send its token in the If header.")

    def refresh(session: Session) -> str:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is None:
            raise NotFound("item", None)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        try:
            refreshed = dav_locks.refresh_lock(
                session,
                ctx.actor,
                item_id=located.item.id,
                tokens=tokens,
                timeout=span,
                clock=ctx.runtime.clock,
            )
        except Conflict as exc:
            raise DavStatus(412, exc.message, body=xml.error_body("lock-token-submitted")) from exc
        return xml.lock_response(active_locks(session, ctx.mount, [refreshed], now=now))

    body = await ctx.in_transaction(refresh)
    return Response(body, status_code=200, media_type=XML)


async def unlock(ctx: DavContext) -> Response:
    header = (ctx.request.headers.get("lock-token") or "").strip()
    if not (header.startswith("<") and header.endswith(">")):
        raise InputError("UNLOCK needs a Lock-Token header: <opaquelocktoken:...>.")
    token = header[1:-1]

    def release(session: Session) -> None:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is None:
            raise NotFound("item", None)
        try:
            dav_locks.remove_lock(
                session, ctx.actor, item_id=located.item.id, token=token, clock=ctx.runtime.clock
            )
        except Conflict as exc:
            raise DavStatus(409, exc.message, body=xml.error_body("lock-token-matches-request-uri")) from exc

    await ctx.in_transaction(release)
    return Response(status_code=204)
