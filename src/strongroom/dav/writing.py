"""PUT, MKCOL, DELETE, COPY, MOVE and PROPPATCH: each one transaction through the content services,
after the If header holds and every lock in the way has had its token presented."""

from collections.abc import AsyncIterable, AsyncIterator
from urllib.parse import urlsplit

from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from strongroom.content import dav_locks, properties, uploads
from strongroom.content import files as content_files
from strongroom.content import folders as content_folders
from strongroom.content import trash as content_trash
from strongroom.content.models import Item
from strongroom.content.preconditions import WritePrecondition, parse_entity_tags
from strongroom.dav import xml
from strongroom.dav.context import DavContext, DavStatus
from strongroom.dav.locks import guard_item, guard_membership
from strongroom.dav.resources import PROTECTED, Located, destination_segments, etag, href, locate
from strongroom.errors import InputError, NotFound, TooLarge
from strongroom.numbers import require_count
from strongroom.sharing import link_scope
from strongroom.storage.sealed_blobs import SealedBlob


def _existing(located: Located) -> Item:
    if located.item is None:
        raise NotFound("item", None)
    return located.item


def _parent_chain(located: Located) -> list[Item]:
    if located.parent_chain is None or located.parent is None:
        raise DavStatus(409, "The parent folder does not exist.")
    return located.parent_chain


async def put(ctx: DavContext) -> Response:
    if not ctx.segments:
        raise DavStatus(405, "The root folder cannot be replaced by a file.")
    limits = ctx.runtime.settings.limits
    raw_length = ctx.request.headers.get("content-length")
    declared = None if raw_length is None else require_count(raw_length, field="Content-Length")
    if declared is not None and declared > limits.max_upload_bytes:
        raise TooLarge(f"The file is larger than the limit of {limits.max_upload_bytes} bytes.")
    # Without these a client that saves a file it read earlier overwrites whatever came in between.
    precondition = WritePrecondition(
        if_match=parse_entity_tags(ctx.request.headers.get("if-match"), field="If-Match"),
        if_none_match=parse_entity_tags(ctx.request.headers.get("if-none-match"), field="If-None-Match"),
    )

    def prepare(session: Session) -> uploads.UploadPlan:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is not None and located.item.is_folder:
            raise DavStatus(405, "A folder is there; PUT writes files.")
        parent_chain = _parent_chain(located)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        if located.item is not None:
            guard_item(session, ctx.actor, ctx.pre, located.chain, now=now)
        else:
            guard_membership(session, ctx.actor, ctx.pre, parent_chain, now=now)
        return uploads.prepare_upload(
            session, ctx.actor, folder_id=parent_chain[-1].id, name=located.name, precondition=precondition
        )

    plan = await ctx.in_transaction(prepare)
    try:
        sealed = await uploads.receive_stream(
            ctx.request.stream(),
            store=ctx.runtime.blobs,
            keys=ctx.runtime.keys,
            version_id=plan.version_id,
            segment_bytes=limits.segment_bytes,
            max_bytes=limits.max_upload_bytes,
        )
    except ClientDisconnect as exc:
        raise InputError("The upload was interrupted; nothing was stored.") from exc
    if declared is not None and sealed.size != declared:
        ctx.runtime.blobs.delete(sealed.blob_key)
        raise InputError("The body was shorter than its Content-Length; nothing was stored.")
    ctype = uploads.declared_content_type(ctx.request.headers.get("content-type"))
    created, tag = await _commit(ctx, plan, sealed, content_type=ctype, precondition=precondition)
    return Response(status_code=201 if created else 204, headers={"ETag": tag})


async def _commit(
    ctx: DavContext,
    plan: uploads.UploadPlan,
    sealed: SealedBlob,
    *,
    content_type: str | None,
    precondition: WritePrecondition | None = None,
) -> tuple[bool, str]:
    def commit(session: Session) -> tuple[bool, str]:
        file, version = uploads.commit_upload(
            session,
            ctx.actor,
            plan=plan,
            sealed=sealed,
            clock=ctx.runtime.clock,
            store=ctx.runtime.blobs,
            keys=ctx.runtime.keys,
            content_type=content_type,
            jobs=ctx.runtime.jobs,
            precondition=precondition,
        )
        session.flush()
        return version.number == 1, etag(file)

    try:
        return await ctx.in_transaction(commit)
    except BaseException:
        ctx.runtime.blobs.delete(sealed.blob_key)
        raise


async def _no_bytes() -> AsyncIterator[bytes]:
    nothing: tuple[bytes, ...] = ()
    for chunk in nothing:
        yield chunk


async def create_empty_file(ctx: DavContext, plan: uploads.UploadPlan) -> None:
    """An unmapped URL that gets locked becomes an empty file (RFC 4918 §7.3)."""
    empty: AsyncIterable[bytes] = _no_bytes()
    sealed = await uploads.receive_stream(
        empty,
        store=ctx.runtime.blobs,
        keys=ctx.runtime.keys,
        version_id=plan.version_id,
        segment_bytes=ctx.runtime.settings.limits.segment_bytes,
        max_bytes=ctx.runtime.settings.limits.max_upload_bytes,
    )
    await _commit(ctx, plan, sealed, content_type=None)


async def mkcol(ctx: DavContext) -> Response:
    declared = ctx.request.headers.get("content-length")
    if (declared and declared != "0") or ctx.request.headers.get("transfer-encoding"):
        raise DavStatus(415, "MKCOL takes no request body.")

    def make(session: Session) -> None:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is not None:
            raise DavStatus(405, "Something with that name already exists.")
        parent_chain = _parent_chain(located)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        guard_membership(session, ctx.actor, ctx.pre, parent_chain, now=now)
        content_folders.create_folder(
            session,
            ctx.actor,
            parent_id=parent_chain[-1].id,
            name=located.name,
            clock=ctx.runtime.clock,
            max_depth=ctx.runtime.settings.limits.max_path_depth,
        )

    await ctx.in_transaction(make)
    return Response(status_code=201)


def _trash(ctx: DavContext, session: Session, located: Located, item: Item) -> None:
    now = ctx.runtime.clock.now()
    guard_item(session, ctx.actor, ctx.pre, located.chain, now=now, subtree=True)
    content_trash.trash_item(session, ctx.actor, item_id=item.id, clock=ctx.runtime.clock)
    dav_locks.forget_locks(session, item, now=now)
    # Flush now: a copy or move into the freed name checks the name against the database.
    session.flush()


async def delete(ctx: DavContext) -> Response:
    def remove(session: Session) -> None:
        located = locate(session, ctx.actor, ctx.segments)
        item = _existing(located)
        if not ctx.segments:
            raise DavStatus(403, "The root folder cannot be deleted.")
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        guard_membership(session, ctx.actor, ctx.pre, _parent_chain(located), now=now)
        _trash(ctx, session, located, item)

    await ctx.in_transaction(remove)
    return Response(status_code=204)


def _overwrite(ctx: DavContext) -> bool:
    value = (ctx.request.headers.get("overwrite") or "T").strip().upper()
    if value not in {"T", "F"}:
        raise InputError("Overwrite is T or F.")
    return value == "T"


def _our_hosts(ctx: DavContext) -> list[str]:
    """The names this server answers to: the request's Host, a proxy's X-Forwarded-Host (a proxy that
    rewrites Host must not turn every COPY into a 502) and the configured public URL's."""
    headers = ctx.request.headers
    hosts = [headers.get("host"), *headers.get("x-forwarded-host", "").split(",")]
    public_url = ctx.runtime.settings.server.public_url
    if public_url:
        hosts.append(urlsplit(public_url).netloc)
    return [host.strip() for host in hosts if host and host.strip()]


async def copy_or_move(ctx: DavContext, *, move: bool) -> Response:
    overwrite = _overwrite(ctx)
    depth = (ctx.request.headers.get("depth") or "infinity").strip().lower()
    if depth not in {"0", "infinity"} or (move and depth != "infinity"):
        raise InputError("COPY takes Depth 0 or infinity; MOVE only infinity.")
    target = destination_segments(
        ctx.request.headers.get("destination"), mount=ctx.mount, hosts=_our_hosts(ctx)
    )

    def run(session: Session) -> bool:
        source = locate(session, ctx.actor, ctx.segments)
        item = _existing(source)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, source, now=now)
        dest = locate(session, ctx.actor, target)
        dest_parent = _parent_chain(dest)
        renaming_case = dest.item is not None and dest.item.id == item.id and dest.name != item.name
        if (
            not ctx.segments
            or any(node.id == item.id for node in dest_parent)
            or (dest.item is not None and dest.item.id == item.id and not renaming_case)
        ):
            raise DavStatus(403, "The destination is the source or lies inside it.")
        if move:
            guard_membership(session, ctx.actor, ctx.pre, _parent_chain(source), now=now)
            guard_item(session, ctx.actor, ctx.pre, source.chain, now=now, subtree=True)
        guard_membership(session, ctx.actor, ctx.pre, dest_parent, now=now)
        replaced = dest.item is not None and not renaming_case
        if dest.item is not None and not renaming_case:
            if not overwrite:
                raise DavStatus(412, "The destination exists and Overwrite is F.")
            _trash(ctx, session, dest, dest.item)
        if move:
            _move(ctx, session, item, dest_parent[-1], dest.name)
            dav_locks.forget_locks(session, item, now=now)
        else:
            _copy(ctx, session, item, dest_parent[-1], dest.name, shallow=depth == "0")
        return replaced

    replaced = await ctx.in_transaction(run)
    return Response(status_code=204 if replaced else 201)


def _move(ctx: DavContext, session: Session, item: Item, folder: Item, name: str) -> None:
    if item.parent_id == folder.id:
        content_files.rename_item(session, ctx.actor, item_id=item.id, new_name=name, clock=ctx.runtime.clock)
        return
    moved = content_files.move_item(
        session,
        ctx.actor,
        item_id=item.id,
        target_folder_id=folder.id,
        new_name=name,
        clock=ctx.runtime.clock,
        max_depth=ctx.runtime.settings.limits.max_path_depth,
    )
    link_scope.note_links_now_withholding(session, ctx.actor, moved, cause="moved", clock=ctx.runtime.clock)


def _copy(ctx: DavContext, session: Session, item: Item, folder: Item, name: str, *, shallow: bool) -> None:
    if item.is_folder and shallow:
        copy: Item = content_folders.create_folder(
            session,
            ctx.actor,
            parent_id=folder.id,
            name=name,
            clock=ctx.runtime.clock,
            max_depth=ctx.runtime.settings.limits.max_path_depth,
        )
    else:
        copy = content_files.copy_item(
            session,
            ctx.actor,
            item_id=item.id,
            target_folder_id=folder.id,
            new_name=name,
            clock=ctx.runtime.clock,
        )
    properties.copy_properties(session, source_id=item.id, target_id=copy.id)
    link_scope.note_links_now_withholding(session, ctx.actor, copy, cause="copied", clock=ctx.runtime.clock)


async def proppatch(ctx: DavContext) -> Response:
    ops = xml.parse_proppatch(await ctx.small_body())

    def patch(session: Session) -> str:
        located = locate(session, ctx.actor, ctx.segments)
        item = _existing(located)
        now = ctx.runtime.clock.now()
        ctx.pre.check(session, ctx.actor, located, now=now)
        guard_item(session, ctx.actor, ctx.pre, located.chain, now=now)
        link = href(ctx.mount, ctx.segments, folder=item.is_folder)
        if any(op.name in PROTECTED for op in ops):
            # All or nothing: a protected property fails, and so do the others (424).
            return xml.proppatch_response(
                link, [(op.name, 403 if op.name in PROTECTED else 424) for op in ops]
            )
        changes = [properties.PropertyChange(name=op.name, value_xml=op.value_xml) for op in ops]
        properties.change_properties(
            session, ctx.actor, item_id=item.id, changes=changes, clock=ctx.runtime.clock
        )
        return xml.proppatch_response(link, [(op.name, 200) for op in ops])

    body = await ctx.in_transaction(patch)
    return Response(body, status_code=207, media_type="application/xml; charset=utf-8")
