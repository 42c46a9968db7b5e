"""Skills read, listen and look at uploaded files in the background: each file shows a processing log
(pending, running, done, failed with the reason, re-run), results are sealed cards, every step is in
the audit trail, and the searchable words are listed for the search index."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from strongroom.audit.models import AuditEvent
from strongroom.runtime import Runtime
from strongroom.skills import cards
from strongroom.skills.models import SkillCard, SkillRun
from tests.content.test_hostile_media import run_worker, upload
from tests.skills import media
from tests.support.users import UserFixture

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("ffmpeg", "pdftotext", "tesseract", "espeak-ng")),
    reason="needs ffmpeg, poppler-utils, tesseract-ocr and espeak-ng",
)


def log_of(client: TestClient, user: UserFixture, file_id: str) -> dict[str, Any]:
    got = client.get(f"/api/v1/files/{file_id}/skills", headers=user.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def runs_by_skill(client: TestClient, user: UserFixture, file_id: str) -> dict[str, dict[str, Any]]:
    return {run["skill"]: run for run in log_of(client, user, file_id)["runs"]}


def card(
    client: TestClient, user: UserFixture, file_id: str, run: dict[str, Any], kind: str
) -> dict[str, Any]:
    (summary,) = [c for c in run["cards"] if c["kind"] == kind]
    got = client.get(f"/api/v1/files/{file_id}/skills/cards/{summary['id']}", headers=user.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def actions(runtime: Runtime, file_id: str) -> list[str]:
    with runtime.sessions() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.item_id == file_id)))


def test_text_of_plain_text_pdf_and_word_files_is_read_into_sealed_cards(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    ids = {
        "notes.txt": upload(
            client, alice, "notes.txt", b"Burglary at Acacia Avenue; burglary suspect fled.", "text/plain"
        ),
        "mg11.pdf": upload(
            client,
            alice,
            "mg11.pdf",
            media.text_pdf(["Witness statement MG11", "Stolen bicycle"]),
            "application/pdf",
        ),
        "report.docx": upload(
            client,
            alice,
            "report.docx",
            media.docx(["Operation Kestrel interim report", "Seized phone exhibit"]),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    }
    pending = runs_by_skill(client, alice, ids["notes.txt"])
    assert pending["text"]["status"] == "pending"
    run_worker(runtime)

    expected = {
        "notes.txt": "Acacia Avenue",
        "mg11.pdf": "Stolen bicycle",
        "report.docx": "Seized phone exhibit",
    }
    for name, words in expected.items():
        text_run = runs_by_skill(client, alice, ids[name])["text"]
        assert text_run["status"] == "done", (name, text_run)
        assert text_run["finished_at"] is not None
        found = card(client, alice, ids[name], text_run, "text")
        assert words in " ".join(found["content"]["pages"]), name
        assert found["model"]
        keywords = card(client, alice, ids[name], text_run, "keywords")["content"]["keywords"]
        assert keywords, name
        assert "skills.run.done" in actions(runtime, ids[name])
        assert "skills.card.read" in actions(runtime, ids[name])
    top = card(
        client, alice, ids["notes.txt"], runs_by_skill(client, alice, ids["notes.txt"])["text"], "keywords"
    )
    assert top["content"]["keywords"][0] == {"word": "burglary", "count": 2}
    # A PDF with a text layer needs no OCR: that run is done, with no cards and the reason shown.
    ocr_run = runs_by_skill(client, alice, ids["mg11.pdf"])["ocr"]
    assert ocr_run["status"] == "done"
    assert ocr_run["cards"] == []
    assert "text layer" in ocr_run["detail"]

    # Sealed: the words are not in the stored card, only in the plain search text.
    with runtime.sessions() as session:
        stored = session.scalars(select(SkillCard).where(SkillCard.file_id == ids["notes.txt"])).all()
        assert all(b"Acacia" not in c.payload for c in stored)
        listed = cards.search_texts(session, item_id=ids["notes.txt"])
    assert [(t.source, "Acacia Avenue" in t.text) for t in listed] == [("text.text", True)]


def test_ocr_reads_text_in_images_and_scanned_pdfs(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    picture = media.text_image(tmp_path / "note.png", "OPERATION KESTREL")
    ids = {
        "note.png": upload(client, alice, "note.png", picture, "image/png"),
        "scan.pdf": upload(
            client, alice, "scan.pdf", media.scanned_pdf(tmp_path / "note.png"), "application/pdf"
        ),
    }
    run_worker(runtime)
    for name, file_id in ids.items():
        runs = runs_by_skill(client, alice, file_id)
        assert runs["ocr"]["status"] == "done", (name, runs["ocr"])
        text = card(client, alice, file_id, runs["ocr"], "text")
        assert "OPERATION KESTREL" in " ".join(text["content"]["pages"]), name
        assert "tesseract" in text["model"]
    scan_text = runs_by_skill(client, alice, ids["scan.pdf"])["text"]
    assert scan_text["status"] == "done"
    assert "read by OCR" in scan_text["detail"]
    with runtime.sessions() as session:
        assert any("KESTREL" in t.text for t in cards.search_texts(session, item_id=ids["scan.pdf"]))


def test_speech_in_a_999_call_and_a_video_is_transcribed_with_timings_and_the_model_named(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    # pocketsphinx's bundled model hears espeak-ng poorly (COMPONENTS.md): this checks a real
    # transcript with timings is made and labelled, not its accuracy.
    call = media.speech(tmp_path / "call.wav", "the suspect left the bus garage at nine forty")
    clip = media.video_with_speech(tmp_path / "clip.mp4", tmp_path / "call.wav")
    ids = {
        "call.wav": upload(client, alice, "call.wav", call, "audio/wav"),
        "clip.mp4": upload(client, alice, "clip.mp4", clip, "video/mp4"),
    }
    run_worker(runtime)
    for name, file_id in ids.items():
        runs = runs_by_skill(client, alice, file_id)
        assert runs["transcript"]["status"] == "done", (name, runs["transcript"])
        summary = next(c for c in runs["transcript"]["cards"] if c["kind"] == "transcript")
        assert "pocketsphinx" in summary["model"]
        transcript = card(client, alice, file_id, runs["transcript"], "transcript")["content"]
        assert "pocketsphinx" in transcript["model"]
        assert 2.5 < transcript["duration"] < 5
        words = [w for s in transcript["segments"] for w in s["words"]]
        assert words, name
        assert all(0 <= w["start"] < w["end"] <= transcript["duration"] + 0.5 for w in words)
    video = runs_by_skill(client, alice, ids["clip.mp4"])
    assert video["detections"]["status"] == "done"
    timeline = card(client, alice, ids["clip.mp4"], video["detections"], "timeline")["content"]
    assert timeline["source"] == "video"
    assert timeline["frames_examined"] >= 3
    assert "haarcascade_frontalface_default" in timeline["model"]
    assert all(d["what"] in {"face", "number_plate"} and d["at"] is not None for d in timeline["detections"])


def test_a_number_plate_in_a_photo_is_on_the_timeline_for_redaction(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    photo = media.plate_photo(tmp_path / "car.png", "A123BC77")
    file_id = upload(client, alice, "car.png", photo, "image/png")
    run_worker(runtime)
    run = runs_by_skill(client, alice, file_id)["detections"]
    assert run["status"] == "done", run
    timeline = card(client, alice, file_id, run, "timeline")["content"]
    plates = [d for d in timeline["detections"] if d["what"] == "number_plate"]
    assert plates, timeline
    x, y, w, h = plates[0]["box"]
    # The plate was drawn at (250, 250), 300 x 65 pixels.
    assert x < 290 < x + w
    assert y < 280 < y + h
    assert timeline["frame_size"] == [1000, 600]
    assert plates[0]["at"] is None  # a photo has no timeline position


def test_a_file_that_cannot_be_read_fails_with_its_reason_and_can_be_run_again(
    client: TestClient, alice: UserFixture, bob: UserFixture, runtime: Runtime
) -> None:
    broken = b"\x89PNG\r\n\x1a\n" + b"\0" * 64 + b"not really a picture"
    file_id = upload(client, alice, "broken.png", broken, "image/png")
    run_worker(runtime)
    runs = runs_by_skill(client, alice, file_id)
    assert set(runs) == {"ocr", "detections"}
    assert runs["ocr"]["status"] == "failed"
    assert "ffmpeg failed" in runs["ocr"]["detail"]
    assert "skills.run.failed" in actions(runtime, file_id)

    assert client.get(f"/api/v1/files/{file_id}/skills", headers=bob.headers).status_code == 404
    assert client.post(f"/api/v1/files/{file_id}/skills", headers=bob.headers).status_code == 404
    unknown = client.post(
        f"/api/v1/files/{file_id}/skills", json={"skills": ["psychic"]}, headers=alice.headers
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "unknown_skill"

    again = client.post(f"/api/v1/files/{file_id}/skills", json={"skills": ["ocr"]}, headers=alice.headers)
    assert again.status_code == 202, again.text
    assert again.json()["queued"] == ["ocr"]
    rerun = {r["skill"]: r for r in again.json()["log"]["runs"]}
    assert rerun["ocr"]["status"] == "pending"
    assert rerun["detections"]["status"] == "failed"
    assert "skills.run.requested" in actions(runtime, file_id)
    run_worker(runtime)
    assert runs_by_skill(client, alice, file_id)["ocr"]["status"] == "failed"


def test_the_file_page_shows_the_processing_log_and_runs_the_skills_again(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    import re

    from tests.web.test_pages import sign_in

    file_id = upload(client, alice, "notes.txt", b"Vehicle seen on the ring road at dawn.", "text/plain")
    sign_in(client, alice.email)
    waiting = client.get(f"/items/{file_id}").text
    assert re.search(r'data-skill="text" data-status="pending"', waiting)
    assert "Waiting to run" in waiting
    run_worker(runtime)
    page = client.get(f"/items/{file_id}").text
    assert re.search(r'data-skill="text" data-status="done"', page)
    assert "8 words on 1 page(s)" in page
    assert f"/api/v1/files/{file_id}/skills/cards/" in page

    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    again = client.post(
        f"/items/{file_id}/skills", data={"csrf_token": token.group(1)}, follow_redirects=True
    )
    assert again.status_code == 200
    assert re.search(r'data-skill="text" data-status="pending"', again.text)
    assert "skills.run.requested" in actions(runtime, file_id)
    assert client.post(f"/items/{file_id}/skills", data={"csrf_token": "forged"}).status_code in {400, 403}


def test_files_stored_before_skills_get_them_from_the_cli(
    client: TestClient, alice: UserFixture, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import delete
    from typer.testing import CliRunner

    from strongroom.cli import app

    file_id = upload(client, alice, "old.txt", b"An exhibit logged long ago.", "text/plain")
    with runtime.sessions() as session:  # as if uploaded before skills existed
        session.execute(delete(SkillRun))
        session.commit()
    assert log_of(client, alice, file_id)["not_run"] == ["text"]
    settings = runtime.settings
    monkeypatch.setenv("STRONGROOM_DEV_MODE", "1")
    monkeypatch.setenv("STRONGROOM_DATABASE__URL", settings.database.url)
    monkeypatch.setenv("STRONGROOM_SECRET_KEY", settings.secret_key)
    result = CliRunner().invoke(app, ["skills", "run", "--now", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 0, result.output
    assert "queued 1 skill runs" in result.output
    assert runs_by_skill(client, alice, file_id)["text"]["status"] == "done"


def test_cards_are_rewrapped_by_key_rotation_and_still_open_after_the_old_key_is_retired(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    from datetime import timedelta

    from strongroom.content import maintenance
    from strongroom.jobs.tasks import retire_superseded_keys

    file_id = upload(client, alice, "log.txt", b"Radio log: patrol car seven at the harbour.", "text/plain")
    run_worker(runtime)
    old = runtime.keys.current_kek_id()
    # Rotation without retiring, then the worker's own retirement task (which knows the card holders).
    maintenance.rotate_keys(
        runtime.sessions, runtime.keys, clock=runtime.clock, retire_old=False, grace=timedelta(0)
    )
    runtime.settings.keys.retire_grace_seconds = 0
    retire_superseded_keys(runtime)
    assert old not in runtime.keys.kek_ids()
    text_run = runs_by_skill(client, alice, file_id)["text"]
    assert "harbour" in " ".join(card(client, alice, file_id, text_run, "text")["content"]["pages"])


def test_webdav_uploads_get_skills_too(client: TestClient, alice: UserFixture, runtime: Runtime) -> None:
    import base64

    basic = "Basic " + base64.b64encode(f"{alice.email}:{alice.token}".encode()).decode()
    put = client.request(
        "PUT", "/dav/memo.txt", content=b"Memo about the harbour patrol.", headers={"Authorization": basic}
    )
    assert put.status_code == 201, put.text
    with runtime.sessions() as session:
        (run,) = session.scalars(select(SkillRun)).all()
    assert (run.skill, run.status) == ("text", "pending")
    run_worker(runtime)
    with runtime.sessions() as session:
        assert [t.source for t in cards.search_texts(session)] == ["text.text"]


def test_a_configured_whisper_model_is_loaded_from_its_path_or_the_log_says_why_not(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    import importlib.util

    if importlib.util.find_spec("faster_whisper") is not None:
        pytest.skip("faster-whisper is installed here; this checks the message when it is not")
    runtime.settings.skills.whisper_model_path = str(tmp_path / "whisper-base")
    call = media.speech(tmp_path / "call.wav", "officer needs assistance")
    file_id = upload(client, alice, "call.wav", call, "audio/wav")
    run_worker(runtime)
    run = runs_by_skill(client, alice, file_id)["transcript"]
    assert run["status"] == "failed"
    assert "faster-whisper is not installed" in run["detail"]
    assert "strongroom[whisper]" in run["detail"]


def test_a_run_asked_for_again_while_running_is_not_overwritten_by_the_older_result(
    client: TestClient, alice: UserFixture, runtime: Runtime
) -> None:
    from strongroom.skills import runs

    file_id = upload(client, alice, "memo.txt", b"First words of the memo.", "text/plain")
    with runtime.sessions() as session:
        run_id = session.scalars(select(SkillRun.id)).one()
    with runtime.sessions() as session:
        planned = runs._start(session, run_id, settings=runtime.settings.skills, clock=runtime.clock)
        session.commit()
    assert planned is not None
    assert runs_by_skill(client, alice, file_id)["text"]["status"] == "running"
    asked = client.post(f"/api/v1/files/{file_id}/skills", headers=alice.headers)
    assert asked.json()["queued"] == ["text"]
    late = runs._finish(runtime.sessions, planned, [], None, keys=runtime.keys, clock=runtime.clock)
    assert late == "pending"  # the older result was dropped
    run_worker(runtime)
    assert runs_by_skill(client, alice, file_id)["text"]["status"] == "done"


def test_what_a_skill_read_is_found_by_search_and_only_by_those_who_may_see_the_file(
    client: TestClient, alice: UserFixture, bob: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    file_id = upload(
        client, alice, "scan.png", media.text_image(tmp_path / "s.png", "OPERATION KESTREL"), "image/png"
    )
    run_worker(runtime)
    assert runs_by_skill(client, alice, file_id)["ocr"]["status"] == "done"
    found = client.get("/api/v1/search", params={"q": "kestrel"}, headers=alice.headers)
    assert found.status_code == 200, found.text
    hit = next(hit for hit in found.json()["hits"] if hit["id"] == file_id)
    assert "KESTREL" in (hit["snippet"] or "").upper()
    others = client.get("/api/v1/search", params={"q": "kestrel"}, headers=bob.headers).json()
    assert others["hits"] == []
    assert others["total"] == 0
