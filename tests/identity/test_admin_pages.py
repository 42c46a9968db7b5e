"""The admin pages: change a role, sign someone out everywhere, and an auditor's way into the audit page."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from strongroom.audit.events import AuditAction
from strongroom.runtime import Runtime
from tests.support.users import UserFixture
from tests.web.test_pages import events_of, sign_in


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_an_admin_changes_a_role_and_signs_someone_out_everywhere(
    app: FastAPI, runtime: Runtime, admin: UserFixture, alice: UserFixture
) -> None:
    with TestClient(app) as alice_browser, TestClient(app) as admin_browser:
        sign_in(alice_browser, alice.email)
        assert alice_browser.get("/admin/audit").status_code == 404  # staff: no such page
        sign_in(admin_browser, admin.email)
        page = admin_browser.get("/admin/users")
        assert "Auditor (audit and reports, read-only)" in page.text
        changed = admin_browser.post(
            f"/admin/users/{alice.id}/role", data={"role": "auditor", "csrf_token": form_token(page.text)}
        )
        assert changed.status_code == 200
        assert f"{alice.email} is now: Auditor" in changed.text
        assert [e.details for e in events_of(runtime, AuditAction.USER_ROLE_CHANGED)]
        # Her open browser now has the auditor's page (roles apply at the next request).
        assert alice_browser.get("/admin/audit").status_code == 200
        assert alice_browser.get("/admin/users").status_code == 404

        out = admin_browser.post(
            f"/admin/users/{alice.id}/sign-out", data={"csrf_token": form_token(page.text)}
        )
        assert out.status_code == 200
        assert "1 browser session(s) ended." in out.text
        assert alice_browser.get("/admin/audit", follow_redirects=False).status_code == 303  # to sign-in
        assert events_of(runtime, AuditAction.SESSION_REVOKED)
