"""scim2-tester, the SCIM conformance checker, passes against the real server with no error."""

from __future__ import annotations

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.support.live import LiveServer


def test_scim2_tester_finds_no_error(live_server: LiveServer, provisioning_token: str) -> None:
    with Client(
        base_url=live_server.url + "/scim/v2",
        headers={"Authorization": f"Bearer {provisioning_token}"},
        timeout=120,
    ) as http:
        results = check_server(SyncSCIMClient(http))
    bad = [
        f"{r.title}: {r.status.name}: {r.reason}"
        for r in results
        if r.status in (Status.ERROR, Status.CRITICAL, Status.DEVIATION)
    ]
    assert len(results) > 50
    assert not bad, "\n".join(bad)
