"""The client-address rule on its own (the live, every-door check is tests/cli/test_serve_edges.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from strongroom.client_address import client_ip, parse_networks
from strongroom.config import ServerSettings

PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ff::/48"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # an untrusted peer's header is ignored
        ("10.0.0.2", [], "10.0.0.2"),  # a trusted proxy that names no one is itself the client
        ("10.0.0.2", ["192.0.2.66, 198.51.100.7"], "198.51.100.7"),  # right-most untrusted
        ("10.0.0.2", ["192.0.2.66, 198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # trusted hops skipped
        ("10.0.0.2", ["192.0.2.66", "198.51.100.7"], "198.51.100.7"),  # several headers are one list
        ("10.0.0.2", ["10.9.9.9, 10.8.8.8"], "10.9.9.9"),  # every hop trusted: the left-most
        ("10.0.0.2", ["198.51.100.7, garbage"], "10.0.0.2"),  # garbage: the last trusted hop
        ("10.0.0.2", ["198.51.100.7:4431"], "198.51.100.7"),  # a port is dropped
        ("2001:db8:ff::1", ["[2001:db8:1::9]:443"], "2001:db8:1::9"),
        ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # IPv4-mapped peer
    ],
)
def test_client_ip(peer: str, forwarded: list[str], client: str) -> None:
    assert client_ip(peer, forwarded, PROXIES) == client


def test_no_trusted_proxies_by_default_and_bad_entries_refused() -> None:
    assert ServerSettings().trusted_proxies == []
    with pytest.raises(ValidationError, match="not an IP address or CIDR"):
        ServerSettings(trusted_proxies=["proxy.force.test"])
