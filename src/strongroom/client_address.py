"""Who is on the other end: the one place that decides a request's client IP address, for every door.

The address is the socket's peer, unless that peer is one of `[server] trusted_proxies`; then
`X-Forwarded-For` is read from the right, skipping trusted proxies, and the first address that is not
one is the client (a client can put anything at the left of the header, so the left is never believed
on its own). The app rewrites the ASGI scope's `client` before any door sees it, so REST, tus, WebDAV,
the web pages, /s/ and /r/ all log the same address. uvicorn's own proxy-header handling must be off
(`strongroom serve` turns it off): it believes `X-Forwarded-For` from 127.0.0.1 by default.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _address(text: str) -> IPAddress | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in networks)


def client_ip(peer: str | None, forwarded_for: list[str], trusted: tuple[IPNetwork, ...]) -> str | None:
    """The client's address for a request from `peer` carrying these `X-Forwarded-For` header values."""
    peer_address = _address(peer) if peer else None
    if peer_address is None or not _trusted(peer_address, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage from the far side of our last trusted proxy: that proxy is the best we know
        client = address
        if not _trusted(address, trusted):
            break
    return str(client)


class ClientAddressMiddleware:
    """Pure ASGI: sets `scope["client"]` to the decided client address, keeping the peer's port."""

    def __init__(self, app: ASGIApp, *, trusted_proxies: Iterable[str]) -> None:
        self.app = app
        self.trusted = parse_networks(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"} and self.trusted:
            client = scope.get("client")
            peer = client[0] if client else None
            forwarded = [
                value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
            ]
            decided = client_ip(peer, forwarded, self.trusted)
            if decided != peer:
                scope = {**scope, "client": (decided, client[1] if client else 0)}
        await self.app(scope, receive, send)
