"""DAV paths ↔ the folder tree, and an item's live properties.

`/dav/` is the actor's root folder ("All files"), which also shows what others shared with the actor;
each path segment is an item name, looked up by its name key (NFC, case-folded) among the live children
of the folder before it. The final item goes
through `access_item`, so the same permission rule decides here as behind the REST API.
"""

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder, access_item, ancestry
from strongroom.actors import Actor
from strongroom.content import folders as content_folders
from strongroom.content.models import Folder, Item
from strongroom.content.names import name_key
from strongroom.content.uploads import find_live_child
from strongroom.dav import xml
from strongroom.errors import InputError, NotFound
from strongroom.identity.models import User
from strongroom.sharing import collaborations

MAX_SEGMENTS = 256


def split_path(path: str) -> tuple[str, ...]:
    """Decoded path (below the mount) → names. Raises InputError for '.'/'..' segments or absurd depth."""
    segments = tuple(segment for segment in path.split("/") if segment)
    if len(segments) > MAX_SEGMENTS:
        raise InputError("The path is too deep.")
    if any(segment in {".", ".."} for segment in segments):
        raise InputError("Paths cannot contain '.' or '..' segments.")
    return segments


def destination_segments(
    header: str | None, *, mount: str, hosts: Collection[str] | None = None
) -> tuple[str, ...]:
    """The Destination header (absolute URI or path) → names below our mount. With `hosts` (the names
    this server answers to), an absolute URI naming another server is refused. Raises InputError,
    OutsideMount."""
    if not header:
        raise InputError("COPY and MOVE need a Destination header.")
    parts = urlsplit(header.strip())
    if (
        hosts is not None
        and parts.netloc
        and _authority(parts.scheme, parts.netloc) not in {_authority(parts.scheme, host) for host in hosts}
    ):
        # RFC 4918 §9.8.5/§9.9.4: copying or moving to another server is the client's job (502).
        raise OutsideMount(f"The destination {header!r} is on another server.")
    path = unquote(parts.path)
    prefix = mount.rstrip("/") + "/"
    if path.rstrip("/") == mount.rstrip("/"):
        return ()
    if not path.startswith(prefix):
        raise OutsideMount(f"The destination {header!r} is not on this WebDAV server.")
    return split_path(path[len(prefix) :])


def _authority(scheme: str, netloc: str) -> str:
    """host:port, lower-cased, the default port written out, so that equal authorities compare equal."""
    authority = netloc.rpartition("@")[2].strip().lower()
    if authority.endswith("]") or ":" not in authority:  # no port (an IPv6 literal ends with "]")
        return f"{authority}:{'443' if scheme.lower() == 'https' else '80'}"
    return authority


class OutsideMount(InputError):
    """A Destination or If-header URI that points outside /dav/ (502 for COPY/MOVE)."""


def href(mount: str, segments: tuple[str, ...], *, folder: bool) -> str:
    path = "/".join(quote(segment, safe="") for segment in segments)
    base = mount.rstrip("/") + "/"
    if not segments:
        return base
    return base + path + ("/" if folder else "")


@dataclass
class Located:
    """Where a request path leads. `item` is None for an unmapped URL whose parent folder exists;
    `parent_chain` is None when even the parent is missing (→ 409 for PUT, MKCOL, COPY, MOVE)."""

    segments: tuple[str, ...]
    item: Item | None
    chain: list[Item]  # root first; ends with the item when it exists
    parent_chain: list[Item] | None

    @property
    def parent(self) -> Folder | None:
        if self.parent_chain is None:
            return None
        last = self.parent_chain[-1]
        return last if isinstance(last, Folder) else None

    @property
    def name(self) -> str:
        return self.segments[-1] if self.segments else ""


def root_folder(session: Session, actor: Actor) -> Folder:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None or user.root_folder_id is None:
        raise NotFound("folder", None)
    return access_folder(session, actor, user.root_folder_id, Action.SEE)


def locate(session: Session, actor: Actor, segments: tuple[str, ...]) -> Located:
    """Walk the names from the actor's root. Raises NotFound only for a root the actor lacks."""
    root = root_folder(session, actor)
    chain: list[Item] = [root]
    for index, segment in enumerate(segments):
        node = chain[-1]
        child = find_live_child(session, node.id, segment) if node.is_folder else None
        if child is None and index == 0:
            child = shared_item(session, actor, segment)
        if child is None:
            last = index == len(segments) - 1
            parent_chain = chain if last and node.is_folder else None
            return Located(segments=segments, item=None, chain=chain, parent_chain=parent_chain)
        chain.append(child)
    item = access_item(session, actor, chain[-1].id, Action.SEE)
    return Located(segments=segments, item=item, chain=chain, parent_chain=chain[:-1] or None)


def shared_items(session: Session, actor: Actor) -> list[Item]:
    """Items others shared with the actor, shown in the root beside the actor's own (own names win)."""
    root = root_folder(session, actor)
    return [
        item
        for item in collaborations.shared_with(session, actor)
        if item.owner_id != actor.user_id and find_live_child(session, root.id, item.name) is None
    ]


def shared_item(session: Session, actor: Actor, name: str) -> Item | None:
    key = name_key(name)
    return next((item for item in shared_items(session, actor) if item.name_key == key), None)


def segments_of(session: Session, item: Item) -> tuple[str, ...]:
    """An item's names below its root: the DAV path of a lock root."""
    return tuple(node.name for node in ancestry(session, item)[1:])


Listed = Item | content_folders.ListedItem


def etag(item: Listed) -> str:
    return item.etag


# Live properties a client may not set or remove with PROPPATCH.
PROTECTED = frozenset(
    {
        (xml.DAV, name)
        for name in (
            "resourcetype",
            "displayname",
            "getlastmodified",
            "creationdate",
            "getetag",
            "getcontentlength",
            "getcontenttype",
            "lockdiscovery",
            "supportedlock",
        )
    }
)
