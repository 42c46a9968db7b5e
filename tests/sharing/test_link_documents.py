"""Documents on a shared link's page, over HTTP: the PDF the viewer reads is served inline under the staff
viewer's headers and recorded as a preview (also for preview-only links, which still never hand out
the original); a revoked link, an item outside the linked folder and a SECRET item inside it are
refused exactly like the link's other routes refuse them; a copy still being made is "being prepared".
"""

from __future__ import annotations

import hashlib
import html
import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.labels import action_label
from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.runtime import Runtime
from tests.content.test_document_previews import DOCX, docx
from tests.content.test_thumbnails import pdf_bytes
from tests.sharing.test_classification import classify, events, folder, link
from tests.support.users import UserFixture

JSON = {"Accept": "application/json"}
REASON = {"X-Strongroom-Reason": "Disclosure schedule check"}


def put_pdf(client: TestClient, owner: UserFixture, folder_id: str, name: str) -> str:
    r = client.put(
        f"/api/v1/folders/{folder_id}/files/{name}",
        content=pdf_bytes(),
        headers={**owner.headers, "Content-Type": "application/pdf"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def put_docx(client: TestClient, owner: UserFixture, folder_id: str, name: str) -> str:
    r = client.put(
        f"/api/v1/folders/{folder_id}/files/{name}",
        content=docx("WITNESS STATEMENT (MG11)"),
        headers={**owner.headers, "Content-Type": DOCX},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def reads(runtime: Runtime, file_id: str) -> list[str]:
    """The reads of the file's content in the audit trail (downloads, plays, previews), oldest first."""
    kinds = ("content.version.read", "content.version.played", "content.preview.read")
    with transaction(runtime.sessions) as session:
        query = select(AuditEvent.action).where(AuditEvent.item_id == file_id, AuditEvent.action.in_(kinds))
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def test_a_preview_only_link_shows_a_pdf_inline_as_a_preview_and_never_hands_out_the_file(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    file_id = put_pdf(client, alice, alice.root_id, "scene plan.pdf")
    link_id, token = link(client, alice, file_id, preview_only=True)

    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert f'data-url="/s/{token}/document/{file_id}"' in page.text
    assert f"/content/{file_id}" not in page.text, "no download link on a preview-only page"

    shown = client.get(f"/s/{token}/document/{file_id}")
    assert shown.status_code == 200
    stored = client.get(f"/api/v1/files/{file_id}", headers=alice.headers).json()["sha256"]
    assert hashlib.sha256(shown.content).hexdigest() == stored, "the PDF itself, unchanged"
    assert shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline")
    # The staff viewer's headers: inert, sandboxed, never cached.
    assert shown.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"

    # The original as a file: refused, as for every preview-only link.
    assert client.get(f"/s/{token}/content/{file_id}", headers=JSON).status_code == 404
    # Opening the viewer's URL itself in the browser (which would offer the PDF to save): refused,
    # and nothing is recorded.
    opened = client.get(
        f"/s/{token}/document/{file_id}", headers={"Sec-Fetch-Dest": "document", "Accept": "text/html"}
    )
    assert opened.status_code == 403
    assert "on the link's page only" in html.unescape(opened.text)
    assert b"%PDF" not in opened.content

    assert reads(runtime, file_id) == ["content.preview.read"]
    report = client.get(f"/api/v1/shared-links/{link_id}/access-report", headers={**alice.headers, **REASON})
    assert report.status_code == 200, report.text
    [seen] = [e for e in report.json() if e["item_id"] == file_id and e["action"].startswith("content.")]
    assert seen["action"] == "content.preview.read"
    assert action_label(seen["action"]) == "Previewed"
    assert seen["actor_kind"] == "link"
    assert seen["details"]["source"] == "original"
    assert seen["details"]["via"] == "link"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice (soffice)")
def test_a_word_document_below_a_folder_link_is_prepared_then_shown_as_its_pdf_copy(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    case = folder(client, alice, "Op KESTREL")
    statements = folder(client, alice, "Statements", case)
    file_id = put_docx(client, alice, statements, "MG11.docx")
    link_id, token = link(client, alice, case, access_level="anyone")

    page = client.get(f"/s/{token}/files/{file_id}")
    assert page.status_code == 200
    assert "A preview of this document is being prepared." in page.text
    assert client.get(f"/s/{token}/api/document/{file_id}").json() == {"state": "queued", "reason": None}
    not_yet = client.get(f"/s/{token}/document/{file_id}", headers=JSON)
    assert not_yet.status_code == 404
    assert not_yet.json()["code"] == "not_found"

    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()
    assert client.get(f"/s/{token}/api/document/{file_id}").json()["state"] == "ready"
    assert "being prepared" not in client.get(f"/s/{token}/files/{file_id}").text
    shown = client.get(f"/s/{token}/document/{file_id}")
    assert shown.status_code == 200
    assert shown.content.startswith(b"%PDF-")
    assert shown.headers["content-disposition"].startswith("inline")
    assert "(preview).pdf" in shown.headers["content-disposition"]
    assert reads(runtime, file_id) == ["content.preview.read"]
    report = client.get(f"/api/v1/shared-links/{link_id}/access-report", headers={**alice.headers, **REASON})
    [seen] = [e for e in report.json() if e["item_id"] == file_id and e["action"].startswith("content.")]
    assert (seen["action"], seen["details"]["via"]) == ("content.preview.read", "link")
    assert "rendition_id" in seen["details"]


def test_a_revoked_link_shows_no_document(client: TestClient, runtime: Runtime, alice: UserFixture) -> None:
    file_id = put_pdf(client, alice, alice.root_id, "scene plan.pdf")
    link_id, token = link(client, alice, file_id)
    assert client.get(f"/s/{token}/document/{file_id}").status_code == 200
    assert client.post(f"/api/v1/shared-links/{link_id}/revoke", headers=alice.headers).status_code == 200
    for path in (f"/s/{token}/document/{file_id}", f"/s/{token}/api/document/{file_id}"):
        refused = client.get(path, headers=JSON)
        assert refused.status_code == 410, path
        assert b"%PDF" not in refused.content
    assert reads(runtime, file_id) == ["content.preview.read"], "only the read before the revocation"


def test_documents_outside_the_linked_folder_or_above_its_ceiling_are_refused(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    shared = folder(client, alice, "For the CPS")
    beside = folder(client, alice, "Case 41")
    inside = put_pdf(client, alice, shared, "charge file.pdf")
    elsewhere = put_pdf(client, alice, beside, "briefing.pdf")
    secret = put_pdf(client, alice, shared, "informant.pdf")
    assert classify(client, alice, secret, "SECRET").status_code == 200
    link_id, token = link(client, alice, shared, access_level="anyone")
    assert client.get(f"/s/{token}/document/{inside}").status_code == 200

    unknown = client.get(f"/s/{token}/document/fi_doesnotexist", headers=JSON)
    for file_id in (elsewhere, secret):
        for path in (f"/s/{token}/document/{file_id}", f"/s/{token}/api/document/{file_id}"):
            refused = client.get(path, headers=JSON)
            assert refused.status_code == 404, path
            assert refused.json() == unknown.json(), "nothing tells them apart from a file that is not there"
        assert client.get(f"/s/{token}/files/{file_id}").status_code == 404
        assert reads(runtime, file_id) == []
    withheld = events(runtime, "sharing.link.item_withheld")
    assert {e["item_id"] for e in withheld} == {secret}, "the SECRET refusals name the link"
    assert {e["details"]["link_id"] for e in withheld} == {link_id}
