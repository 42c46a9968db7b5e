"""The sender of an upload learns which files the virus scan rejected: the receipt page says it per
file, and a follow-up mail quotes the receipt's reference. A real clamd.

Needs clamd: apt-get install -y --no-install-recommends clamav-daemon clamav
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.interop.test_scan_states import clamd_port, clock, runtime, scanner, settings, work  # noqa: F401
from tests.support.clamd import ClamdProcess, eicar, start_clamd
from tests.support.smtp import MailSink, smtp
from tests.support.users import UserFixture

__all__ = ["smtp"]
pytestmark = pytest.mark.interop
SENDER = "pat@shop.test"


def test_receipt_and_follow_up_mail_name_the_rejected_file(
    client: TestClient,
    alice: UserFixture,
    runtime: object,  # noqa: F811 - the fixture
    smtp: MailSink,
    tmp_path: Path,
    clamd_port: int,  # noqa: F811 - the fixture
    scanner: list[ClamdProcess],  # noqa: F811 - the fixture
) -> None:
    scanner.append(start_clamd(tmp_path / "clamd", port=clamd_port))
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "Shop CCTV"}, headers=alice.headers
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    sent = client.post(
        f"/r/{token}",
        data={"name": "Pat Shopkeeper", "email": SENDER},
        files=[
            ("files", ("virus.txt", eicar(), "application/octet-stream")),
            ("files", ("note.txt", b"seen at 14:02", "text/plain")),
        ],
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    receipt_url = sent.headers["location"]
    before = client.get(receipt_url).text
    assert before.count('data-scan="Being checked for viruses"') == 2, (
        "not yet scanned: said so, not 'accepted'"
    )
    [receipt_mail] = smtp.wait_for(SENDER)

    work(runtime)  # type: ignore[arg-type]

    after = client.get(receipt_url).text
    assert "Rejected by the virus scan" in after
    assert "please send a clean copy" in after
    assert 'data-scan="Accepted"' in after
    mails = smtp.wait_for(SENDER, count=2)
    follow_up = smtp.body(mails[-1])
    reference = receipt_url.rsplit("/", 1)[1]
    assert reference in str(mails[-1]["Subject"])
    assert "'virus.txt' you sent was rejected by the virus scan" in follow_up
    assert "note.txt" not in follow_up
    assert receipt_mail is not mails[-1]
