"""A custody bundle, downloaded as a court would get it and then tampered with in the file, checked by
`strongroom audit verify` as a defence expert would run it: with the key held apart, without it, and
with a wrong one. A bundle vouches only for the events it proves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from strongroom.audit import chain, checkpoints, custody
from strongroom.cli import app as cli_app
from strongroom.runtime import Runtime
from tests.audit.helpers import why
from tests.support.users import UserFixture


@dataclass
class Case:
    client: TestClient
    runtime: Runtime
    alice: UserFixture
    admin: UserFixture
    file_id: str
    bundle: dict[str, Any]
    key: str
    folder: Path

    def run(self, bundle: dict[str, Any], *args: str) -> Result:
        path = self.folder / "custody.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        return CliRunner().invoke(cli_app, ["audit", "verify", str(path), *args])

    def verify(self, bundle: dict[str, Any], *args: str) -> Result:
        return self.run(bundle, "--public-key", self.key, *args)

    def full_export(self) -> Path:
        path = self.folder / "log.jsonl"
        path.write_bytes(self.client.get("/api/v1/audit/export", headers=why(self.admin)).content)
        return path


@pytest.fixture
def case(
    client: TestClient, runtime: Runtime, alice: UserFixture, admin: UserFixture, tmp_path: Path
) -> Case:
    put = client.put("/api/v1/folders/root/files/bwv-0412.mp4", content=b"version one", headers=alice.headers)
    file_id = put.json()["id"]
    client.put("/api/v1/folders/root/files/bwv-0412.mp4", content=b"version two", headers=alice.headers)
    client.get(f"/api/v1/files/{file_id}/content", headers=alice.headers)
    response = client.get(f"/api/v1/files/{file_id}/custody-bundle.json", headers=why(alice))
    assert response.status_code == 200, response.text
    return Case(
        client,
        runtime,
        alice,
        admin,
        file_id,
        response.json(),
        runtime.audit_key.public_key().hex(),
        tmp_path,
    )


def copy(bundle: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(bundle))
    return result


def rehash(event: dict[str, Any]) -> None:
    """What a forger does: give an edited or invented event the hash its content needs."""
    fields = {k: v for k, v in event.items() if k not in {"hash", "inclusion_proof"}}
    event["hash"] = chain.chain_hash(event["prev_hash"], chain.event_payload(fields))


def test_an_honest_bundle_verifies_and_says_what_it_proves(case: Case) -> None:
    events = case.bundle["events"]
    assert all("inclusion_proof" in e for e in events)  # a checkpoint covering the latest event was signed
    assert case.bundle["checkpoint"]["tree_size"] >= events[-1]["seq"]
    assert "left out" in case.bundle["does_not_prove"]
    result = case.verify(case.bundle)
    assert result.exit_code == 0, result.output
    assert "OK: custody bundle verified" in result.output
    assert "completeness not checked" in result.output


def test_an_event_invented_past_the_checkpoint_fails(case: Case) -> None:
    forged = copy(case.bundle)
    last = forged["events"][-1]
    invented = {k: v for k, v in last.items() if k != "inclusion_proof"}
    invented |= {
        "seq": forged["checkpoint"]["tree_size"] + 1,
        "prev_hash": last["hash"],
        "ip": "198.51.100.4",
    }
    rehash(invented)
    forged["events"].append(invented)
    result = case.verify(forged)
    assert result.exit_code == 1, result.output
    assert f"seq {invented['seq']}: newer than the signed checkpoint" in result.output


def test_an_event_edited_past_an_older_checkpoint_fails(case: Case) -> None:
    # A genuine checkpoint signed before the last event about the item: the events after it have no
    # proof, and today's verifier only warned about them.
    genuine = case.bundle["checkpoint"]
    size = case.bundle["events"][-1]["seq"] - 1
    with case.runtime.sessions() as session:
        root = checkpoints.load_tree(session, size).root(size).hex()
    created = datetime.fromisoformat(genuine["created_at"]).astimezone(UTC)
    note = checkpoints.note(origin=genuine["origin"], tree_size=size, root_hash=root, created_at=created)
    older = {
        **genuine,
        "tree_size": size,
        "root_hash": root,
        "signature": case.runtime.audit_key.sign(note).hex(),
    }
    forged = copy(case.bundle)
    forged["checkpoint"] = older
    last = forged["events"][-1]
    last["actor_label"] = "someone else"
    rehash(last)
    result = case.verify(forged)
    assert result.exit_code == 1, result.output
    assert f"seq {last['seq']}: newer than the signed checkpoint (tree size {size})" in result.output


def test_an_edited_event_fails(case: Case) -> None:
    edited = copy(case.bundle)
    edited["events"][1]["actor_label"] = "someone else"
    result = case.verify(edited)
    assert result.exit_code == 1
    assert "content does not match its hash" in result.output
    rehash(edited["events"][1])  # even with a recomputed hash, the proof ties the old leaf to the root
    result = case.verify(edited)
    assert result.exit_code == 1
    assert "inclusion proof fails" in result.output


def test_a_bundle_without_its_checkpoint_fails(case: Case) -> None:
    stripped = copy(case.bundle)
    stripped["checkpoint"] = None
    result = case.verify(stripped)
    assert result.exit_code == 1, result.output
    assert "no signed checkpoint" in result.output
    del stripped["checkpoint"]
    assert case.verify(stripped).exit_code == 1


def test_a_left_out_event_is_found_only_against_the_log(case: Case) -> None:
    trimmed = copy(case.bundle)
    left_out = trimmed["events"].pop(2)
    alone = case.verify(trimmed)
    assert alone.exit_code == 0, alone.output  # a bundle cannot prove that nothing was left out...
    assert "completeness is not proven" in alone.output
    log = case.full_export()
    against = case.verify(trimmed, "--log", str(log))
    assert against.exit_code == 1, against.output  # ...the full log can
    assert f"seq {left_out['seq']}: the log holds this event about the item" in against.output
    whole = case.verify(case.bundle, "--log", str(log))
    assert whole.exit_code == 0, whole.output
    assert "none is left out" in whole.output


def test_a_checkpoint_signed_for_another_log_is_refused(case: Case) -> None:
    genuine = case.bundle["checkpoint"]
    other = "https://test-instance.force.police.test/audit"
    created = datetime.fromisoformat(genuine["created_at"]).astimezone(UTC)
    note = checkpoints.note(
        origin=other, tree_size=genuine["tree_size"], root_hash=genuine["root_hash"], created_at=created
    )
    forged = copy(case.bundle)
    forged["checkpoint"] = {**genuine, "origin": other, "signature": case.runtime.audit_key.sign(note).hex()}
    result = case.verify(forged)  # signed by the right key, but for another log than the bundle names
    assert result.exit_code == 1, result.output
    assert "is signed for the log" in result.output
    forged["origin"] = other  # the forger renames the bundle's log too: the verifier's --origin decides
    result = case.verify(forged, "--origin", case.bundle["origin"])
    assert result.exit_code == 1, result.output
    assert case.verify(case.bundle, "--origin", case.bundle["origin"]).exit_code == 0


def test_the_wrong_key_fails_and_no_key_is_only_unverified(case: Case) -> None:
    wrong = case.run(case.bundle, "--public-key", "11" * 32)
    assert wrong.exit_code == 1, wrong.output
    assert "does not verify with the trusted audit key" in wrong.output
    keyless = case.run(case.bundle)
    assert keyless.exit_code == 3, keyless.output
    assert "UNVERIFIED: no trusted key" in keyless.output
    assert "OK" not in keyless.output
    # A forger who re-signs with their own key and writes it into the bundle is unverified at best...
    resigned = copy(case.bundle)
    resigned["public_key"] = "22" * 32
    assert case.run(resigned).exit_code == 1  # ...and here the signature does not even match that key


def test_the_bundle_is_written_as_compact_utf8_json_whatever_its_contents() -> None:
    """The bundle's bytes are the standard library's compact, non-ASCII-escaping JSON (what earlier
    bundles were), including text a clerk typed in any script and a number too large for orjson."""
    bundle = {
        "events": [{"seq": 1, "reason": 'Vérifié — 审查 \u2028 "quoted" \\ /', "ip": None, "ok": True}],
        "checkpoint": {"tree_size": 2**70, "root_hash": "ab" * 32},
    }
    expected = (json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert custody.bundle_json(bundle) == expected
    del bundle["checkpoint"]["tree_size"]  # orjson's path, not the fallback
    expected = (json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    assert custody.bundle_json(bundle) == expected
