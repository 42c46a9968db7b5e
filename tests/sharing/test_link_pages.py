"""What people outside the force see on link and upload-request pages: the staff look, step
indicators, errors tied to their fields, human sizes and hashes, no download where none is allowed,
nothing about the item once a link is gone; and human labels for every audit action."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.web.audit_labels import ACTION_LABELS, action_label
from tests.sharing.test_links import make_link, put_file
from tests.support.smtp import MailSink
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in


def assets_of(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/s-assets/[^"]+)"', html)


def test_external_pages_use_the_staff_stylesheet_and_brand_under_strict_headers(
    client: TestClient, alice: UserFixture
) -> None:
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, password="a long passphrase")
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Robots-Tag"].startswith("noindex")
    assert page.headers["X-Frame-Options"] == "DENY"
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "style-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert 'name="referrer" content="no-referrer"' in page.text
    assert "<style" not in page.text
    assert " style=" not in page.text
    assert "<script>" not in page.text
    assets = assets_of(page.text)
    names = {a.split("?")[0].rsplit("/", 1)[1] for a in assets}
    assert {"strongroom.css", "external.css", "logo.svg"} <= names
    for asset in assets:  # every asset the page needs is served, typed, from /s-assets/
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["X-Content-Type-Options"] == "nosniff"
    css = client.get(next(a for a in assets if "strongroom.css" in a))
    assert css.headers["content-type"].startswith("text/css")
    assert ".sr-header" in css.text
    assert 'class="sr-header"' in page.text
    assert 'class="sr-button"' in page.text
    assert "/static/" not in page.text  # nothing from the staff UI's static mount


def test_password_error_is_summarised_and_linked_to_its_field(client: TestClient, alice: UserFixture) -> None:
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, password="a long passphrase")
    wrong = client.post(f"/s/{token}/password", data={"password": "nope"})
    assert wrong.status_code == 401
    assert 'class="sr-error-summary"' in wrong.text
    assert '<a href="#password">' in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    assert 'aria-describedby="password-error"' in wrong.text
    assert 'id="password-error"' in wrong.text


def test_recipient_proof_pages_show_steps_and_a_masked_address(
    client: TestClient, alice: UserFixture, smtp: MailSink
) -> None:
    email = "prosecutor@cps.example.test"
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, recipients=[email])
    landing = client.get(f"/s/{token}")
    assert "Step 1 of 3" in landing.text
    assert 'for="email"' in landing.text
    sent = client.post(f"/s/{token}/email", data={"email": email}, follow_redirects=False)
    code_page = client.get(sent.headers["location"])
    assert "Step 2 of 3" in code_page.text
    assert "p***@cps.example.test" in code_page.text
    assert 'aria-current="step"' in code_page.text
    assert 'autocomplete="one-time-code"' in code_page.text
    smtp.code_for(email)
    wrong = client.post(f"/s/{token}/code", data={"email": email, "code": "000000"})
    if wrong.status_code == 303:  # the one-in-a-million chance that 000000 was the code
        return
    assert wrong.status_code == 401
    assert '<a href="#code">' in wrong.text
    assert "Step 2 of 3" in wrong.text


def test_file_page_shows_sizes_in_full_and_the_hash_in_a_wrapping_block(
    client: TestClient, alice: UserFixture
) -> None:
    data = b"x" * 200_326
    file_id = put_file(client, alice, "interview.txt", data)
    _, token = make_link(client, alice, file_id)
    page = client.get(f"/s/{token}")
    assert "200.3 KB" in page.text
    assert "(200,326 bytes)" in page.text
    sha = re.search(r'<code class="ext-hash" id="sha256">([0-9a-f]{64})</code>', page.text)
    assert sha, page.text
    assert re.search(rf'href="/s/{token}/content/{file_id}"[^>]*download', page.text)


def test_preview_only_page_never_offers_the_original(client: TestClient, alice: UserFixture) -> None:
    file_id = put_file(client, alice, "statement.txt")
    _, token = make_link(client, alice, file_id, preview_only=True)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    assert f"/content/{file_id}" not in page.text
    assert not re.search(r">\s*Download", page.text)
    assert " download" not in page.text.replace("downloading", "")
    assert "in your browser only" in page.text
    assert client.get(f"/s/{token}/content/{file_id}").status_code in {403, 404, 410}


def test_gone_page_matches_the_product_and_says_nothing_about_the_item(
    client: TestClient, alice: UserFixture
) -> None:
    file_id = put_file(client, alice, "secret plan.txt")
    link_id, token = make_link(client, alice, file_id)
    assert client.post(f"/api/v1/shared-links/{link_id}/revoke", headers=alice.headers).status_code == 200
    gone = client.get(f"/s/{token}")
    assert gone.status_code == 410
    assert "secret plan" not in gone.text
    assert "alice" not in gone.text.lower()
    assert 'class="sr-header"' in gone.text
    assert "ask the person who sent you the link" in gone.text
    assert gone.headers["Referrer-Policy"] == "no-referrer"
    assert gone.headers["X-Frame-Options"] == "DENY"


def test_upload_form_errors_link_to_the_field_at_fault(client: TestClient, alice: UserFixture) -> None:
    created = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests",
        json={"title": "Bus CCTV", "allowed_types": [".mp4"]},
        headers=alice.headers,
    )
    token = created.json()["url"].rsplit("/r/", 1)[1]
    form = client.get(f"/r/{token}")
    assert 'class="sr-header"' in form.text
    assert re.search(r'<label class="sr-label" for="files">Files</label>', form.text)
    assert 'aria-describedby="files-hint"' in form.text
    no_name = client.post(
        f"/r/{token}",
        data={"email": "sam@garage.test"},
        files=[("files", ("clip.mp4", b"video", "video/mp4"))],
    )
    assert no_name.status_code == 400
    assert '<a href="#f-name">' in no_name.text
    assert re.search(r'id="f-name"[^>]*aria-invalid="true"', no_name.text)
    wrong_type = client.post(
        f"/r/{token}",
        data={"name": "Sam", "email": "sam@garage.test"},
        files=[("files", ("tool.exe", b"MZ", "application/octet-stream"))],
    )
    assert wrong_type.status_code == 400
    assert '<a href="#files">' in wrong_type.text
    assert 'value="Sam"' in wrong_type.text  # what they typed is kept


def test_every_audit_action_has_a_human_label() -> None:
    missing = [action.value for action in AuditAction if action not in ACTION_LABELS]
    assert not missing, f"add labels to strongroom/web/audit_labels.py for: {missing}"
    assert all(label and "." not in label.split()[0] for label in ACTION_LABELS.values())
    assert action_label("content.version.created") == "New version uploaded"
    assert action_label("sharing.link.password_failed") == "Wrong password"
    assert action_label("something.from.the.future") == "something.from.the.future"


def test_access_report_and_audit_search_get_the_labels(client: TestClient, alice: UserFixture) -> None:
    file_id = put_file(client, alice)
    sign_in(client, alice.email)
    page = client.get(f"/items/{file_id}")
    assert page.status_code == 200
    labels = re.search(r"id=\"access-report\"[^>]*data-labels='([^']*)'", page.text)
    assert labels, page.text
    mapping = json.loads(labels.group(1).replace("&#34;", '"'))
    assert mapping["content.version.created"] == "New version uploaded"
    assert mapping["content.version.read"] == "Downloaded"
    assert mapping["content.version.played"] == "Played"


def test_a_spent_download_link_explains_itself_to_people_and_answers_json_to_scripts(
    client: TestClient, alice: UserFixture
) -> None:
    file_id = put_file(client, alice)
    _, token = make_link(client, alice, file_id, download_limit=1)
    assert client.get(f"/s/{token}/content/{file_id}").content == b"witness statement"
    clicked = client.get(f"/s/{token}/content/{file_id}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert clicked.status_code == 410
    assert clicked.headers["content-type"].startswith("text/html")
    assert 'class="sr-header"' in clicked.text
    assert "used as many times as it allows" in clicked.text
    scripted = client.get(f"/s/{token}/content/{file_id}", headers={"Accept": "application/json"})
    assert scripted.status_code == 410
    assert scripted.json()["code"]
    page = client.get(f"/s/{token}")
    assert f"/content/{file_id}" not in page.text
    assert "used as many times as it allows" in page.text
