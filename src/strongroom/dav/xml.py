"""WebDAV XML: parsing PROPFIND, PROPPATCH and LOCK bodies, and rendering multistatus responses.

Untrusted XML is parsed only by defusedxml, which refuses DTDs, entity declarations and external
references (no billion laughs, no XXE). Responses are rendered as text with one fixed prefix, `D:`,
for the DAV: namespace; foreign elements carry their own namespace declarations.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError, tostring
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from strongroom.errors import InputError

DAV = "DAV:"
MAX_XML_BYTES = 1024 * 1024
XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'
MULTISTATUS_OPEN = XML_DECL + '<D:multistatus xmlns:D="DAV:">'
MULTISTATUS_CLOSE = "</D:multistatus>\n"

PropName = tuple[str, str]  # (namespace, local name)

STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    423: "Locked",
    424: "Failed Dependency",
}


def split_tag(tag: str) -> PropName:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def parse_body(body: bytes) -> Element | None:
    """The root element of a request body, or None for an empty body. Raises InputError (400)."""
    if not body.strip():
        return None
    if len(body) > MAX_XML_BYTES:
        raise InputError(f"XML request bodies are limited to {MAX_XML_BYTES} bytes.")
    try:
        root: Element = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise InputError(f"The request body is not well-formed XML: {exc}") from exc
    return root


@dataclass(frozen=True)
class Propfind:
    kind: str  # "allprop" | "propname" | "prop"
    names: list[PropName] = field(default_factory=list)


def parse_propfind(body: bytes) -> Propfind:
    root = parse_body(body)
    if root is None:
        return Propfind(kind="allprop")
    if split_tag(root.tag) != (DAV, "propfind"):
        raise InputError("A PROPFIND body is a DAV:propfind element.")
    for child in root:
        ns, local = split_tag(child.tag)
        if ns != DAV:
            continue  # unknown extensions are ignored (RFC 4918 §17)
        if local == "prop":
            return Propfind(kind="prop", names=[split_tag(prop.tag) for prop in child])
        if local in {"allprop", "propname"}:
            return Propfind(kind=local)
    raise InputError("DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname.")


@dataclass(frozen=True)
class PatchOp:
    name: PropName
    value_xml: str | None  # the whole property element, serialized; None to remove


def parse_proppatch(body: bytes) -> list[PatchOp]:
    """The set and remove instructions in document order. Raises InputError."""
    root = parse_body(body)
    if root is None or split_tag(root.tag) != (DAV, "propertyupdate"):
        raise InputError("A PROPPATCH body is a DAV:propertyupdate element.")
    ops: list[PatchOp] = []
    for instruction in root:
        ns, local = split_tag(instruction.tag)
        if ns != DAV or local not in {"set", "remove"}:
            continue
        for prop in instruction:
            if split_tag(prop.tag) != (DAV, "prop"):
                continue
            for element in prop:
                name = split_tag(element.tag)
                element.tail = None
                ops.append(PatchOp(name=name, value_xml=serialize(element) if local == "set" else None))
    if not ops:
        raise InputError("The PROPPATCH body changes no property.")
    return ops


@dataclass(frozen=True)
class LockInfo:
    scope: str  # "exclusive" | "shared"
    owner_xml: str | None


def parse_lockinfo(body: bytes) -> LockInfo | None:
    """A new lock's scope and owner; None for an empty body (a refresh). Raises InputError."""
    root = parse_body(body)
    if root is None:
        return None
    if split_tag(root.tag) != (DAV, "lockinfo"):
        raise InputError("A LOCK body is a DAV:lockinfo element.")
    scope = None
    owner = None
    for child in root:
        name = split_tag(child.tag)
        if name == (DAV, "lockscope"):
            kinds = [split_tag(grandchild.tag) for grandchild in child]
            scope = (
                "exclusive" if (DAV, "exclusive") in kinds else "shared" if (DAV, "shared") in kinds else None
            )
        elif name == (DAV, "locktype"):
            if (DAV, "write") not in [split_tag(grandchild.tag) for grandchild in child]:
                raise InputError("Only write locks exist.")
        elif name == (DAV, "owner"):
            child.tail = None
            owner = serialize(child)
    if scope is None:
        raise InputError("DAV:lockinfo needs a DAV:lockscope of exclusive or shared.")
    return LockInfo(scope=scope, owner_xml=owner)


def serialize(element: Element) -> str:
    """A standalone serialization of an element that declares every namespace it uses."""
    return tostring(element, encoding="unicode", short_empty_elements=True)


def text(value: str) -> str:
    return escape(value)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime) -> str:
    """RFC 9110 IMF-fixdate of a UTC time; hand-built because listings format ten thousand of them, and
    with `%` because it formats padded numbers faster than an f-string does."""
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (  # noqa: UP031
        _DAYS[moment.weekday()],
        moment.day,
        _MONTHS[moment.month - 1],
        moment.year,
        moment.hour,
        moment.minute,
        moment.second,
    )


def iso_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_element(name: PropName) -> str:
    ns, local = name
    if ns == DAV:
        return f"<D:{local}/>"
    return f"<{local} xmlns={quoteattr(ns)}/>"


def live(local: str, inner: str) -> str:
    """A DAV: property with its (already escaped) content."""
    return f"<D:{local}>{inner}</D:{local}>" if inner else f"<D:{local}/>"


def propstat(props: Iterable[str], status: int) -> str:
    body = "".join(props)
    return (
        f"<D:propstat><D:prop>{body}</D:prop>"
        f"<D:status>HTTP/1.1 {status} {STATUS_TEXT.get(status, '')}</D:status></D:propstat>"
    )


def response(href: str, found: list[str], missing: list[PropName] | None = None) -> str:
    parts = [f"<D:response><D:href>{escape(href)}</D:href>"]
    if found or not missing:
        parts.append(propstat(found, 200))
    if missing:
        parts.append(propstat((empty_element(name) for name in missing), 404))
    parts.append("</D:response>")
    return "".join(parts)


def status_response(href: str, status: int) -> str:
    return (
        f"<D:response><D:href>{escape(href)}</D:href>"
        f"<D:status>HTTP/1.1 {status} {STATUS_TEXT.get(status, '')}</D:status></D:response>"
    )


def proppatch_response(href: str, results: list[tuple[PropName, int]]) -> str:
    by_status: dict[int, list[str]] = {}
    for name, status in results:
        by_status.setdefault(status, []).append(empty_element(name))
    stats = "".join(propstat(props, status) for status, props in by_status.items())
    return (
        MULTISTATUS_OPEN
        + f"<D:response><D:href>{escape(href)}</D:href>{stats}</D:response>"
        + MULTISTATUS_CLOSE
    )


def error_body(condition: str) -> str:
    """A DAV:error body naming a precondition (RFC 4918 §16)."""
    return XML_DECL + f'<D:error xmlns:D="DAV:"><D:{condition}/></D:error>\n'


@dataclass(frozen=True)
class ActiveLock:
    token: str
    scope: str
    depth: str
    owner_xml: str | None
    timeout_seconds: int
    root_href: str


def activelock(lock: ActiveLock) -> str:
    owner = lock.owner_xml or ""
    return (
        "<D:activelock>"
        f"<D:locktype><D:write/></D:locktype><D:lockscope><D:{lock.scope}/></D:lockscope>"
        f"<D:depth>{lock.depth}</D:depth>{owner}"
        f"<D:timeout>Second-{lock.timeout_seconds}</D:timeout>"
        f"<D:locktoken><D:href>{escape(lock.token)}</D:href></D:locktoken>"
        f"<D:lockroot><D:href>{escape(lock.root_href)}</D:href></D:lockroot>"
        "</D:activelock>"
    )


def lockdiscovery(locks: list[ActiveLock]) -> str:
    return live("lockdiscovery", "".join(activelock(lock) for lock in locks))


SUPPORTED_LOCK = live(
    "supportedlock",
    "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
    "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>",
)


def lock_response(locks: list[ActiveLock]) -> str:
    return XML_DECL + f'<D:prop xmlns:D="DAV:">{lockdiscovery(locks)}</D:prop>\n'
