"""How an item answers PROPFIND: its `<D:response>` as one `%` template per kind of item.

A Depth 1 listing of ten thousand items is mostly this rendering (issue 14). The answer's shape depends
only on what was asked, on whether the item is a folder, and on its dead properties and locks; most items
have neither, so a listing builds the two shapes once (folder, file) and fills in each item's values with
one `%` formatting (a third of `str.format`'s cost with named fields). An item with dead properties or
locks gets a shape of its own, built the same way.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from strongroom.content.folders import ListedItem
from strongroom.dav import xml
from strongroom.dav.resources import Listed

# Each live property as a fragment over the item's values (see `fill`); None where the kind of
# item has no such property. Values are escaped before they are filled in, so no fragment escapes.
_LIVE: dict[str, tuple[str | None, str | None]] = {  # local name -> (folder, file)
    "resourcetype": ("<D:resourcetype><D:collection/></D:resourcetype>", "<D:resourcetype/>"),
    "displayname": ("<D:displayname>%(name)s</D:displayname>",) * 2,
    "getlastmodified": ("<D:getlastmodified>%(modified)s</D:getlastmodified>",) * 2,
    "creationdate": ("<D:creationdate>%(created)s</D:creationdate>",) * 2,
    "getetag": ("<D:getetag>%(etag)s</D:getetag>",) * 2,
    "getcontentlength": (None, "<D:getcontentlength>%(size)s</D:getcontentlength>"),
    "getcontenttype": (None, "<D:getcontenttype>%(content_type)s</D:getcontenttype>"),
}
_LOCK_PROPS = ((xml.DAV, "supportedlock"), (xml.DAV, "lockdiscovery"))
_NO_LOCKS = xml.lockdiscovery([])
DEFAULT_TYPE = "application/octet-stream"
# The listing columns behind each value a shape may name (`name` and the kind are always read).
_COLUMNS = {
    "modified": "updated_at",
    "created": "created_at",
    "etag": "revision",
    "size": "size",
    "content_type": "content_type",
}
# A value's place in a template (an escaped `%%(x)s` may match too: that only computes a value unused).
_FIELD = re.compile(r"%\((\w+)\)s")
# Names that need no percent-encoding in a URL path segment (urllib's always-safe set).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]+")


def name_in_href(name: str) -> str:
    """A name as one percent-encoded path segment: `quote(name, safe="")`, cheaper for plain names."""
    return name if _PLAIN_NAME.fullmatch(name) else quote(name, safe="")


def text(value: str) -> str:
    """`xml.text`, skipped for the usual value that has nothing to escape."""
    return xml.text(value) if "&" in value or "<" in value or ">" in value else value


def _literal(markup: str) -> str:
    """Markup placed in a template as itself (dead property values and lock roots may hold `%`)."""
    return markup.replace("%", "%%")


def _live(local: str, *, folder: bool) -> str | None:
    fragments = _LIVE.get(local)
    return None if fragments is None else fragments[0 if folder else 1]


@dataclass(frozen=True)
class Shape:
    """One item's `<D:response>` as a `%` template over `href` and the values it names."""

    template: str
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", frozenset(_FIELD.findall(self.template)))


def shape(
    spec: xml.Propfind, *, folder: bool, dead: Mapping[xml.PropName, str], locks: list[xml.ActiveLock]
) -> Shape:
    """The answer's shape for an item of this kind, with these dead properties and locks."""
    lockdiscovery = _literal(xml.lockdiscovery(locks)) if locks else _NO_LOCKS
    if spec.kind == "prop":
        found: list[str] = []
        missing: list[xml.PropName] = []
        for name in spec.names:
            value = _live(name[1], folder=folder) if name[0] == xml.DAV else None
            if value is None and name in dead:
                value = _literal(dead[name])
            if value is None and name == _LOCK_PROPS[0]:
                value = xml.SUPPORTED_LOCK
            if value is None and name == _LOCK_PROPS[1]:
                value = lockdiscovery
            if value is None:
                missing.append(name)
            else:
                found.append(value)
        return Shape(_response(found, [_literal(xml.empty_element(name)) for name in missing]))
    live = [(name, value) for name in _LIVE if (value := _live(name, folder=folder)) is not None]
    if spec.kind == "propname":
        names = [(xml.DAV, name) for name, _ in live] + list(_LOCK_PROPS) + list(dead)
        return Shape(_response([_literal(xml.empty_element(name)) for name in names], []))
    values = [value for _, value in live] + [xml.SUPPORTED_LOCK, lockdiscovery]
    return Shape(_response(values + [_literal(value) for value in dead.values()], []))


def _response(found: list[str], missing: list[str]) -> str:
    """`xml.response` with the href left as a field (`propstat` adds no `%` of its own)."""
    parts = ["<D:response><D:href>%(href)s</D:href>"]
    if found or not missing:
        parts.append(xml.propstat(found, 200))
    if missing:
        parts.append(xml.propstat(missing, 404))
    parts.append("</D:response>")
    return "".join(parts)


class Renderer:
    """Renders the items of one PROPFIND; the shapes of items without dead properties or locks of their
    own are built once per kind and reused."""

    def __init__(self, spec: xml.Propfind) -> None:
        self.spec = spec
        self.plain = {folder: shape(spec, folder=folder, dead={}, locks=[]) for folder in (True, False)}
        # Dead properties and locks add no values, so the plain shapes name every value this PROPFIND shows.
        shown = self.plain[True].fields | self.plain[False].fields
        read = {_COLUMNS[value] for value in shown if value in _COLUMNS}
        self.unread = frozenset(ListedItem._fields) - read

    def render(
        self, item: Listed, *, link: str, dead: Mapping[xml.PropName, str], locks: list[xml.ActiveLock]
    ) -> str:
        """`link` is the item's href, percent-encoded (it is escaped here)."""
        if dead or locks:
            return fill(shape(self.spec, folder=item.is_folder, dead=dead, locks=locks), item, link)
        return fill(self.plain[item.is_folder], item, link)

    def children(
        self,
        items: Iterable[Listed],
        *,
        prefix: str,
        dead: Mapping[str, Mapping[xml.PropName, str]],
        own_locks: Mapping[str, list[xml.ActiveLock]],
        inherited: list[xml.ActiveLock],
    ) -> str:
        """A page of a folder's children, whose hrefs are `prefix` and their names; `inherited` locks
        cover every child, `dead` and `own_locks` are by item id."""
        common = self.plain
        if inherited:
            common = {folder: shape(self.spec, folder=folder, dead={}, locks=inherited) for folder in common}
        parts = []
        for item in items:
            folder = item.is_folder
            link = prefix + name_in_href(item.name) + ("/" if folder else "")
            props = dead.get(item.id)
            held = own_locks.get(item.id)
            if props or held:
                locks = inherited + held if held else inherited
                parts.append(fill(shape(self.spec, folder=folder, dead=props or {}, locks=locks), item, link))
            else:
                parts.append(fill(common[folder], item, link))
        return "".join(parts)


def fill(form: Shape, item: Listed, link: str) -> str:
    """The item's values in its shape; `link` is its href, percent-encoded (escaped here)."""
    need = form.fields
    return form.template % {
        "href": text(link),
        "name": text(item.name) if "name" in need else "",
        "modified": xml.http_date(item.updated_at) if "modified" in need else "",
        "created": xml.iso_date(item.created_at) if "created" in need else "",
        "etag": text(item.etag) if "etag" in need else "",
        "size": item.size,
        "content_type": text(item.content_type or DEFAULT_TYPE) if "content_type" in need else "",
    }
