"""Errors are RFC 9457 problems on every HTTP door, and the OpenAPI document says so: every error
status, the bearer scheme, readable operation ids."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from strongroom.api.errors import STATUS
from tests.support.users import UserFixture

PROBLEM = "application/problem+json"


def assert_problem(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["type"] == f"/api/v1/problems/{code}"
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["detail"] == body["message"]
    return body


def test_domain_validation_routing_and_auth_errors_are_problems(
    client: TestClient, alice: UserFixture
) -> None:
    missing = client.get("/api/v1/files/" + "0" * 26, headers=alice.headers)
    assert_problem(missing, 404, "not_found")
    unsigned = client.get("/api/v1/me")
    assert_problem(unsigned, 401, "unauthenticated")
    assert unsigned.headers["www-authenticate"].startswith("Bearer")
    bad = client.post("/api/v1/folders", json={"name": 5}, headers=alice.headers)
    body = assert_problem(bad, 400, "bad_input")
    assert body["details"]["problems"]
    wrong_method = client.request("PUT", "/api/v1/me", headers=alice.headers)
    assert_problem(wrong_method, 405, "method_not_allowed")
    taken = client.post(
        "/api/v1/folders", json={"name": "Case 1", "parent_id": "root"}, headers=alice.headers
    )
    assert taken.status_code == 201
    again = client.post(
        "/api/v1/folders", json={"name": "Case 1", "parent_id": "root"}, headers=alice.headers
    )
    assert_problem(again, 409, "name_taken")


def test_tus_and_shared_link_errors_are_problems(client: TestClient, alice: UserFixture) -> None:
    tus = client.head("/api/v1/uploads/" + "0" * 26, headers={**alice.headers, "Tus-Resumable": "1.0.0"})
    assert tus.status_code == 404
    patched = client.patch(
        "/api/v1/uploads/" + "0" * 26,
        content=b"x",
        headers={**alice.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                 "Content-Type": "application/offset+octet-stream"},
    )  # fmt: skip
    assert_problem(patched, 404, "not_found")
    link = client.get("/s/not-a-real-token/api")
    assert link.status_code == 404
    assert link.headers["content-type"] == PROBLEM


def test_a_problem_type_says_what_it_means_without_sign_in(client: TestClient) -> None:
    described = client.get("/api/v1/problems/name_taken")
    assert described.status_code == 200
    assert described.json()["title"] == "Name taken"
    assert described.json()["description"]
    storage_full = client.get("/api/v1/problems/storage_full").json()
    assert "full" in storage_full["description"]
    assert_problem(client.get("/api/v1/problems/no_such_code"), 404, "not_found")


def test_openapi_lists_every_error_status_as_a_problem_with_bearer_and_readable_ids(
    client: TestClient,
) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert document["security"] == [{"bearer": []}]
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    seen_ids: set[str] = set()
    seen_statuses: set[int] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            op_id = operation["operationId"]
            assert re.fullmatch(r"[a-z][a-z_]*[a-z]", op_id), op_id
            assert "api_v1" not in op_id, op_id
            assert op_id not in seen_ids, f"{op_id} twice"
            seen_ids.add(op_id)
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}: validation errors are 400"
            for status in ("400", "401", "403", "404", "429", "503"):
                assert status in responses, f"{method} {path} lacks {status}"
            for status, response in responses.items():
                if status[0] in "45":
                    seen_statuses.add(int(status))
                    assert response["content"] == {PROBLEM: {"schema": problem_ref}}, (method, path, status)
            if path.startswith("/api/v1/problems/"):
                assert operation["security"] == []
            else:
                assert "security" not in operation  # the document's bearer requirement applies
    assert {status for _, status in STATUS} <= seen_statuses
    assert {"upload_file", "download_file", "update_folder", "update_file", "create_upload",
            "append_to_upload", "terminate_upload"} <= seen_ids  # fmt: skip
