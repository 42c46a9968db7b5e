"""OPTIONS, PROPFIND, GET and HEAD.

PROPFIND Depth 1 streams its multistatus page by page through the folder's keyset listing, so a folder
of a hundred thousand items costs constant memory and the first bytes leave at once. The first page is
small, for those first bytes; the later ones are larger, because each page costs a transaction, the
folder's access check and a thread hop besides its rows (issue 14).
"""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from strongroom.access.loaders import ancestry
from strongroom.api.streaming import stream_content
from strongroom.content import dav_locks, media_types, properties
from strongroom.content import folders as content_folders
from strongroom.content import reads as content_reads
from strongroom.content.dav_locks import DavLock
from strongroom.dav import xml
from strongroom.dav.context import DavContext, DavStatus
from strongroom.dav.locks import active_locks
from strongroom.dav.rendering import Renderer
from strongroom.dav.resources import Located, etag, href, locate, shared_items
from strongroom.errors import NotFound, StrongroomError

FIRST_PAGE = 1000
PAGE = 5000
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK"
MULTISTATUS = "application/xml; charset=utf-8"


def options_response() -> Response:
    return Response(
        status_code=200,
        headers={"DAV": "1, 2", "Allow": ALLOW, "MS-Author-Via": "DAV", "Content-Length": "0"},
    )


def _wants_locks(spec: xml.Propfind) -> bool:
    return spec.kind == "allprop" or (xml.DAV, "lockdiscovery") in spec.names


@dataclass
class FolderListing:
    folder_id: str
    segments: tuple[str, ...]
    inherited: list[DavLock]  # depth-infinity locks on the folder or above: they cover every child


async def propfind(ctx: DavContext) -> Response:
    depth = (ctx.request.headers.get("depth") or "infinity").strip().lower()
    if depth not in {"0", "1"}:
        raise DavStatus(
            403,
            "PROPFIND with Depth: infinity is not supported.",
            body=xml.error_body("propfind-finite-depth"),
        )
    spec = xml.parse_propfind(await ctx.small_body())
    renderer = Renderer(spec)

    def first(session: Session) -> tuple[str, FolderListing | None, tuple[str, str | None]]:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is None:
            raise NotFound("item", None)
        now = ctx.runtime.clock.now()
        item = located.item
        real_chain = ancestry(session, item)
        covering = dav_locks.locks_covering(session, real_chain, now=now) if _wants_locks(spec) else []
        dead = properties.properties_of(session, [item.id]).get(item.id, {})
        own = renderer.render(
            item,
            link=href(ctx.mount, ctx.segments, folder=item.is_folder),
            dead=dead,
            locks=active_locks(session, ctx.mount, covering, now=now),
        )
        if depth == "0" or not item.is_folder:
            return own, None, ("", None)
        inherited = [lock for lock in covering if lock.depth == dav_locks.DEPTH_INFINITY]
        listing = FolderListing(folder_id=item.id, segments=ctx.segments, inherited=inherited)
        # The first page (and, for a folder that fits in it, everything) is read before the status line
        # goes out, so a database outage answers 503 rather than cutting a started 207 short.
        return own, listing, _page(ctx, session, renderer, listing, None)

    own, listing, (page, marker) = await ctx.in_transaction(first)
    if listing is None:
        return Response(
            xml.MULTISTATUS_OPEN + own + xml.MULTISTATUS_CLOSE, status_code=207, media_type=MULTISTATUS
        )
    if marker is None:
        shared = "" if listing.segments else await ctx.in_transaction(lambda s: _shared(ctx, s, renderer))
        return Response(
            xml.MULTISTATUS_OPEN + own + page + shared + xml.MULTISTATUS_CLOSE,
            status_code=207,
            media_type=MULTISTATUS,
        )
    return StreamingResponse(
        _stream_listing(ctx, renderer, own + page, listing, marker), status_code=207, media_type=MULTISTATUS
    )


async def _stream_listing(
    ctx: DavContext, renderer: Renderer, head: str, listing: FolderListing, marker: str | None
) -> AsyncIterator[bytes]:
    yield (xml.MULTISTATUS_OPEN + head).encode()
    while marker is not None:
        try:
            chunk, marker = await ctx.in_transaction(
                lambda session, m=marker: _page(ctx, session, renderer, listing, m)
            )
        except StrongroomError:
            # The folder vanished, or the database went away, mid-listing: the status line is sent,
            # so end the document well-formed with what was sent rather than drop the connection.
            break
        yield chunk.encode()
    if not listing.segments:
        with contextlib.suppress(StrongroomError):
            yield (await ctx.in_transaction(lambda session: _shared(ctx, session, renderer))).encode()
    yield xml.MULTISTATUS_CLOSE.encode()


def _shared(ctx: DavContext, session: Session, renderer: Renderer) -> str:
    """The root's second part: items shared with the actor (few; a person's direct grants)."""
    items = shared_items(session, ctx.actor)
    dead = properties.properties_of(session, [item.id for item in items])
    now = ctx.runtime.clock.now()
    parts = []
    for item in items:
        chain = ancestry(session, item)
        covering = dav_locks.locks_covering(session, chain, now=now) if _wants_locks(renderer.spec) else []
        parts.append(
            renderer.render(
                item,
                link=href(ctx.mount, (item.name,), folder=item.is_folder),
                dead=dead.get(item.id, {}),
                locks=active_locks(session, ctx.mount, covering, now=now),
            )
        )
    return "".join(parts)


def _page(
    ctx: DavContext, session: Session, renderer: Renderer, listing: FolderListing, marker: str | None
) -> tuple[str, str | None]:
    spec = renderer.spec
    page = content_folders.list_items(
        session,
        ctx.actor,
        folder_id=listing.folder_id,
        limit=PAGE if marker else FIRST_PAGE,
        marker=marker,
        unread=renderer.unread,
    )
    dead = {}
    if spec.kind != "prop" or _names_dead(spec):
        dead = properties.properties_in_listing(
            session,
            listing.folder_id,
            after=content_folders.decode_marker(marker) if marker else None,
            through=content_folders.decode_marker(page.next_marker) if page.next_marker else None,
        )
    now = ctx.runtime.clock.now()
    direct = dav_locks.locks_on_children(session, listing.folder_id, now=now) if _wants_locks(spec) else {}
    rendered = renderer.children(
        page.items,
        prefix=href(ctx.mount, listing.segments, folder=True),
        dead=dead,
        own_locks={
            item_id: active_locks(session, ctx.mount, held, now=now) for item_id, held in direct.items()
        },
        inherited=active_locks(session, ctx.mount, listing.inherited, now=now) if listing.inherited else [],
    )
    return rendered, page.next_marker


def _names_dead(spec: xml.Propfind) -> bool:
    return any(namespace != xml.DAV for namespace, _ in spec.names)


async def get(ctx: DavContext, *, head: bool) -> Response:
    range_header = ctx.request.headers.get("range")

    def load(session: Session) -> tuple[Located, content_reads.ContentToSend | None]:
        located = locate(session, ctx.actor, ctx.segments)
        if located.item is None:
            raise NotFound("item", None)
        if located.item.is_folder or head:
            return located, None
        content = content_reads.open_content(
            session,
            ctx.actor,
            file_id=located.item.id,
            range_header=range_header,
            if_range=ctx.request.headers.get("if-range"),
            clock=ctx.runtime.clock,
            via="dav",
            reason=ctx.reason,
            reason_required_for=ctx.runtime.settings.audit.reason_required_for,
        )
        return located, content

    located, content = await ctx.in_transaction(load)
    item = located.item
    assert item is not None
    headers = {"ETag": etag(item), "Last-Modified": xml.http_date(item.updated_at)}
    if item.is_folder:
        note = "This is a WebDAV folder. Mount it as a network drive, or use a WebDAV client.\n"
        return Response(
            b"" if head else note.encode(), media_type="text/plain; charset=utf-8", headers=headers
        )
    if content is None:  # HEAD: metadata only, and not a read of the content
        headers |= {
            "Content-Length": str(item.size),
            "Accept-Ranges": "bytes",
            "X-Content-Type-Options": "nosniff",
        }
        return Response(
            status_code=200, headers=headers, media_type=media_types.served_type(item.content_type)
        )
    response = stream_content(ctx.runtime, content)
    response.headers.update(headers)
    return response
