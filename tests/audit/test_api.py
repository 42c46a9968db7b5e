"""The audit trail through the REST door and the CLI: search, export, verify, proofs, reports, reasons."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from strongroom.audit import chain, custody_verify
from strongroom.audit.trust import Trust
from strongroom.cli import app as cli_app
from strongroom.runtime import Runtime
from tests.audit.helpers import why
from tests.support.users import UserFixture


def upload(client: TestClient, user: UserFixture, name: str, data: bytes) -> dict[str, object]:
    response = client.put(f"/api/v1/folders/root/files/{name}", content=data, headers=user.headers)
    assert response.status_code in {200, 201}, response.text
    body: dict[str, object] = response.json()
    return body


def test_admins_search_events_with_filters_and_paging_others_may_not(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    file = upload(client, alice, "cctv.mp4", b"frames")
    for _ in range(3):
        assert client.get(f"/api/v1/files/{file['id']}/content", headers=alice.headers).status_code == 200
    assert client.get("/api/v1/audit/events", headers=alice.headers).status_code == 403
    page = client.get(
        "/api/v1/audit/events",
        params={"item_id": file["id"], "action": "content.version.read", "limit": 2},
        headers=why(admin),
    ).json()
    assert [e["action"] for e in page["events"]] == ["content.version.read"] * 2
    assert page["events"][0]["actor_label"] == alice.email
    rest = client.get(
        "/api/v1/audit/events",
        params={
            "item_id": file["id"],
            "action": "content.version.read",
            "limit": 2,
            "marker": page["next_marker"],
        },
        headers=why(admin),
    ).json()
    assert len(rest["events"]) == 1
    assert rest["next_marker"] is None
    assert rest["events"][0]["seq"] > page["events"][1]["seq"]
    prefix = client.get("/api/v1/audit/events", params={"action": "content."}, headers=why(admin)).json()
    assert {e["action"].split(".")[0] for e in prefix["events"]} == {"content"}
    assert client.get("/api/v1/audit/events", params={"marker": "x"}, headers=why(admin)).status_code == 400


def test_export_verifies_with_the_cli_and_edits_are_caught(
    client: TestClient, runtime: Runtime, alice: UserFixture, admin: UserFixture, tmp_path: Path
) -> None:
    upload(client, alice, "statement.pdf", b"I saw")
    assert client.post("/api/v1/audit/checkpoints", headers=admin.headers).status_code == 201
    key = client.get("/api/v1/audit/public-key").json()["public_key"]
    exported = client.get("/api/v1/audit/export", headers=why(admin))
    assert exported.status_code == 200
    path = tmp_path / "audit.jsonl"
    path.write_bytes(exported.content)
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["audit", "verify", str(path), "--public-key", key])
    assert ok.exit_code == 0, ok.output
    assert "OK:" in ok.output
    assert "1 signed checkpoints verified" in ok.output

    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET ip = '203.0.113.9' WHERE seq = 2"))
    path.write_bytes(client.get("/api/v1/audit/export", headers=why(admin)).content)
    bad = runner.invoke(cli_app, ["audit", "verify", str(path), "--public-key", key])
    assert bad.exit_code == 1
    assert "TAMPERED: seq 2: content does not match its hash" in bad.output


def test_syslog_export_is_rfc_5424(client: TestClient, alice: UserFixture, admin: UserFixture) -> None:
    upload(client, alice, "notes.txt", b"x")
    lines = client.get(
        "/api/v1/audit/export", params={"format": "syslog"}, headers=why(admin)
    ).text.splitlines()
    assert lines
    first = lines[0]
    assert first.startswith("<110>1 ")  # facility 13 (log audit), severity 6 (informational), version 1
    header, _, rest = first.partition(" [strongroom@32473 ")
    assert len(header.split(" ")) == 6  # PRI+VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
    assert header.split(" ")[3] == "strongroom"
    assert json.loads(rest.split("] ", 1)[1])["seq"] == 1


def test_inclusion_and_consistency_proofs_verify_against_signed_roots(
    client: TestClient, alice: UserFixture, admin: UserFixture
) -> None:
    upload(client, alice, "a.txt", b"a")
    first = client.post("/api/v1/audit/checkpoints", headers=admin.headers).json()
    upload(client, alice, "b.txt", b"b")
    second = client.post("/api/v1/audit/checkpoints", headers=admin.headers).json()
    again = client.post("/api/v1/audit/checkpoints", headers=admin.headers)
    assert again.status_code == 200  # nothing new: the latest is returned
    assert again.json()["tree_size"] == second["tree_size"]
    listed = client.get("/api/v1/audit/checkpoints", headers=admin.headers).json()["checkpoints"]
    assert [c["tree_size"] for c in listed] == [second["tree_size"], first["tree_size"]]

    proof = client.get("/api/v1/audit/proofs/inclusion", params={"seq": 2}, headers=admin.headers).json()
    assert proof["tree_size"] == second["tree_size"]
    assert proof["checkpoint"]["signature"] == second["signature"]
    leaf = chain.event_leaf(proof["event_hash"])
    path = [bytes.fromhex(p) for p in proof["audit_path"]]
    assert chain.verify_inclusion(1, second["tree_size"], leaf, path, bytes.fromhex(second["root_hash"]))
    assert not chain.verify_inclusion(2, second["tree_size"], leaf, path, bytes.fromhex(second["root_hash"]))

    consistency = client.get(
        "/api/v1/audit/proofs/consistency",
        params={"first": first["tree_size"], "second": second["tree_size"]},
        headers=admin.headers,
    ).json()
    assert consistency["first_root"] == first["root_hash"]
    assert chain.verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(p) for p in consistency["proof"]],
    )
    too_far = client.get(
        "/api/v1/audit/proofs/inclusion", params={"seq": 1, "tree_size": 10_000}, headers=admin.headers
    )
    assert too_far.status_code == 400


def test_reports_who_accessed_an_item_and_what_a_user_did(
    client: TestClient, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    file = upload(client, alice, "interview.wav", b"audio")
    client.get(f"/api/v1/files/{file['id']}/content", headers=alice.headers, params={})
    client.get(f"/api/v1/files/{file['id']}/content", headers={**alice.headers, "Range": "bytes=0-1"})
    report = client.get(f"/api/v1/items/{file['id']}/access-report", headers=why(alice))
    assert report.status_code == 200
    accessors = report.json()["accessors"]
    assert [(a["actor_label"], a["count"]) for a in accessors] == [(alice.email, 2)]
    assert client.get(f"/api/v1/items/{file['id']}/access-report", headers=bob.headers).status_code == 404
    assert client.get(f"/api/v1/items/{file['id']}/access-report", headers=why(admin)).status_code == 200

    mine = client.get(f"/api/v1/users/{alice.id}/activity", headers=why(alice)).json()["events"]
    assert {"content.file.created", "content.version.created", "content.version.read"} <= {
        e["action"] for e in mine
    }
    assert all(e["actor_id"] == alice.id for e in mine)
    assert client.get(f"/api/v1/users/{alice.id}/activity", headers=bob.headers).status_code == 404


def test_classified_material_needs_a_reason_which_is_recorded(
    client: TestClient, runtime: Runtime, alice: UserFixture, admin: UserFixture
) -> None:
    file = upload(client, alice, "source.docx", b"handler notes")
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE item SET classification = 'SECRET' WHERE id = :id"), {"id": file["id"]})
    url = f"/api/v1/files/{file['id']}/content"
    refused = client.get(url, headers=alice.headers)
    assert refused.status_code == 428
    assert refused.json()["code"] == "reason_required"
    allowed = client.get(
        url,
        headers={**alice.headers, "X-Strongroom-Reason": "Op%20Kestrel%20%E2%80%94%20disclosure%20review"},
    )
    assert allowed.status_code == 200
    assert allowed.content == b"handler notes"
    reads = client.get(
        "/api/v1/audit/events",
        params={"item_id": file["id"], "action": "content.version.read"},
        headers=why(admin),
    )
    assert [e["reason"] for e in reads.json()["events"]] == ["Op Kestrel — disclosure review"]


def test_disclosing_classified_material_needs_a_reason_too(
    client: TestClient, runtime: Runtime, alice: UserFixture, bob: UserFixture, admin: UserFixture
) -> None:
    file = upload(client, alice, "informant.docx", b"source details")
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE item SET classification = 'SECRET' WHERE id = :id"), {"id": file["id"]})
    link_url = f"/api/v1/items/{file['id']}/shared-links"
    grant_url = f"/api/v1/items/{file['id']}/collaborations"
    grant = {"user_email": bob.email, "role": "viewer"}
    assert client.post(link_url, json={"access_level": "force"}, headers=alice.headers).status_code == 428
    assert client.post(grant_url, json=grant, headers=alice.headers).status_code == 428
    assert client.get(f"/api/v1/files/{file['id']}/preview", headers=alice.headers).status_code == 428
    disclosing = {**alice.headers, "X-Strongroom-Reason": "CPS%20charging%20decision"}
    # SECRET never leaves by a link, whatever the reason (docs/dev/subsystems/classification.md).
    assert client.post(link_url, json={"access_level": "force"}, headers=disclosing).status_code == 403
    assert client.post(grant_url, json=grant, headers=disclosing).status_code == 201
    events = client.get("/api/v1/audit/events", params={"item_id": file["id"]}, headers=why(admin)).json()
    reasons = {e["action"]: e["reason"] for e in events["events"]}
    assert "sharing.link.created" not in reasons
    assert reasons["sharing.grant.created"] == "CPS charging decision"


def test_custody_report_pdf_and_bundle_verify_and_outlive_the_item(
    client: TestClient,
    runtime: Runtime,
    alice: UserFixture,
    admin: UserFixture,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    first = upload(client, alice, "bwv-0412.mp4", b"version one")
    upload(client, alice, "bwv-0412.mp4", b"version two, longer")
    client.get(f"/api/v1/files/{first['id']}/content", headers=alice.headers)
    pdf = client.get(f"/api/v1/files/{first['id']}/custody-report.pdf", headers=why(alice))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    (artifacts_dir / "custody-report.pdf").write_bytes(pdf.content)
    bundle = client.get(f"/api/v1/files/{first['id']}/custody-bundle.json", headers=why(alice)).json()
    actions = [e["action"] for e in bundle["events"]]
    assert actions[:3] == ["content.file.created", "content.version.created", "content.version.created"]
    assert "content.version.read" in actions
    assert all("inclusion_proof" in e for e in bundle["events"][:4])
    key = runtime.audit_key.public_key()
    assert custody_verify.verify_bundle(bundle, trust=Trust.of([key])).problems == []
    bundle_path = tmp_path / "custody.json"
    bundle_path.write_text(json.dumps(bundle))
    ok = CliRunner().invoke(cli_app, ["audit", "verify", str(bundle_path), "--public-key", key.hex()])
    assert ok.exit_code == 0, ok.output
    edited = json.loads(json.dumps(bundle))
    edited["events"][1]["actor_label"] = "someone else"
    seq = edited["events"][1]["seq"]
    assert custody_verify.verify_bundle(edited, trust=Trust.of([key])).problems == [
        f"seq {seq}: content does not match its hash (the event was edited)",
        f"seq {seq}: not included in the signed checkpoint (inclusion proof fails)",
    ]

    # Purge the file: its events stay, and an admin can still report on it.
    assert client.delete(f"/api/v1/files/{first['id']}", headers=alice.headers).status_code == 200
    assert client.delete(f"/api/v1/trash/{first['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"/api/v1/items/{first['id']}/access-report", headers=why(alice)).status_code == 404
    after = client.get(f"/api/v1/items/{first['id']}/access-report", headers=why(admin)).json()
    assert after["item"]["exists"] is False
    assert "content.item.purged" in [e["action"] for e in after["events"]]
    gone = client.get(f"/api/v1/files/{first['id']}/custody-bundle.json", headers=why(admin)).json()
    assert custody_verify.verify_bundle(gone, trust=Trust.of([key])).problems == []
