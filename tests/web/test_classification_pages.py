"""Classification in the staff pages: the form (only for those who may classify, with a reason), and the
reason a reader states before classified content is shown or downloaded."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in


def options(page: str) -> list[str]:
    form = re.search(r'<form[^>]*id="classification-form".*?</form>', page, re.DOTALL)
    return re.findall(r'<option value="([^"]+)"', form.group(0)) if form else []


def test_classifying_from_the_item_page_then_reading_with_a_reason(
    client: TestClient, runtime: Runtime, alice: UserFixture
) -> None:
    file_id = client.put(
        f"/api/v1/folders/{alice.root_id}/files/source.txt", content=b"source", headers=alice.headers
    ).json()["id"]
    csrf = sign_in(client, alice.email)
    page = client.get(f"/items/{file_id}").text
    assert options(page) == ["OFFICIAL", "OFFICIAL-SENSITIVE", "SECRET"]
    assert f"/api/v1/files/{file_id}/content?download=1" in page

    refused = client.post(
        f"/items/{file_id}/classification", data={"classification": "SECRET", "reason": "x"}
    )
    assert refused.status_code == 403  # no CSRF token
    no_reason = client.post(
        f"/items/{file_id}/classification", data={"classification": "SECRET", "csrf_token": csrf}
    )
    assert no_reason.status_code == 428
    done = client.post(
        f"/items/{file_id}/classification",
        data={"classification": "SECRET", "reason": "names a source", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/items/{file_id}"

    gated = client.get(f"/items/{file_id}").text
    assert "Why do you need to open this?" in gated
    assert f"/api/v1/files/{file_id}/content" not in gated.replace("data-content-url", "")
    assert client.get(f"/api/v1/files/{file_id}/content").status_code == 428

    opened = client.get(f"/items/{file_id}", params={"reason": "Op Trident review"}).text
    link = re.search(r'href="(/api/v1/files/[^"]+content\?download=1[^"]*)"', opened)
    assert link, "the download link carries the stated reason"
    assert client.get(html.unescape(link.group(1))).content == b"source"
    with transaction(runtime.sessions) as session:
        reasons = session.scalars(
            select(AuditEvent.reason).where(AuditEvent.action == "content.version.read")
        ).all()
    assert reasons == ["Op Trident review"]


def test_the_form_offers_only_what_the_person_may_choose(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    folder = client.post(
        "/api/v1/folders", json={"name": "Case 5", "parent_id": "root"}, headers=alice.headers
    ).json()["id"]
    file_id = client.put(f"/api/v1/folders/{folder}/files/a.txt", content=b"a", headers=alice.headers).json()[
        "id"
    ]
    client.put(
        f"/api/v1/items/{folder}/classification",
        json={"classification": "OFFICIAL-SENSITIVE", "reason": "case papers"},
        headers=alice.headers,
    )
    grant = client.post(
        f"/api/v1/items/{folder}/collaborations",
        json={"role": "viewer", "user_email": bob.email},
        headers=alice.headers,
    ).json()["id"]
    sign_in(client, bob.email)
    assert options(client.get(f"/items/{file_id}").text) == []  # a viewer may not classify
    client.patch(f"/api/v1/collaborations/{grant}", json={"role": "editor"}, headers=alice.headers)
    page = client.get(f"/items/{file_id}").text
    # The file sits in an OFFICIAL-SENSITIVE folder: nothing lower is offered.
    assert options(page) == ["OFFICIAL-SENSITIVE", "SECRET"]
    assert "cannot be classified lower" in page
    folder_page = client.get(f"/files/{folder}").text
    assert "OFFICIAL-SENSITIVE" in folder_page
    assert options(folder_page) == ["OFFICIAL-SENSITIVE", "SECRET"]  # an editor may raise, not lower
