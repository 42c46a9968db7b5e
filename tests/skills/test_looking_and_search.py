"""The looking skill on real pictures (a real face, a rendered UK number plate), and search finding a
file by what its current version's skills found, and no longer by what an older version said."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from strongroom.runtime import Runtime
from tests.content.test_hostile_media import run_worker, upload
from tests.skills import media
from tests.skills.test_skills import card, runs_by_skill
from tests.support.users import UserFixture

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("ffmpeg", "pdftotext", "tesseract")),
    reason="needs ffmpeg, poppler-utils and tesseract-ocr",
)
# NASA's public-domain portrait of Eileen Collins (data/README.md); her face is about x 170-280, y 60-170.
ASTRONAUT = Path(__file__).parent / "data" / "astronaut.jpg"
FACE_CENTRE = (225, 115)


def search_ids(client: TestClient, user: UserFixture, words: str) -> set[str]:
    found = client.get("/api/v1/search", params={"q": words}, headers=user.headers)
    assert found.status_code == 200, found.text
    return {hit["id"] for hit in found.json()["hits"]}


def timeline_of(client: TestClient, user: UserFixture, file_id: str) -> dict[str, Any]:
    run = runs_by_skill(client, user, file_id)["detections"]
    assert run["status"] == "done", run
    content: dict[str, Any] = card(client, user, file_id, run, "timeline")["content"]
    return content


def around(box: list[int], point: tuple[int, int]) -> bool:
    x, y, w, h = box
    return x < point[0] < x + w and y < point[1] < y + h


def test_a_real_face_is_found_in_a_photo_and_in_a_video_at_the_time_it_appears(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    ids = {
        "photo": upload(client, alice, "collins.jpg", ASTRONAUT.read_bytes(), "image/jpeg"),
        "video": upload(
            client, alice, "arrival.mp4", media.appearing_video(tmp_path / "v.mp4", ASTRONAUT), "video/mp4"
        ),
        "text": upload(
            client, alice, "note.png", media.text_image(tmp_path / "n.png", "NOTHING TO SEE"), "image/png"
        ),
    }
    run_worker(runtime)

    photo = timeline_of(client, alice, ids["photo"])
    faces = [d for d in photo["detections"] if d["what"] == "face"]
    assert faces, photo
    assert any(around(f["box"], FACE_CENTRE) and f["box"][2] >= 60 for f in faces), faces
    assert all(f["at"] is None for f in faces)
    assert photo["frame_size"] == [512, 512]

    # One blank second, then the portrait for three: one frame a second is looked at.
    video = timeline_of(client, alice, ids["video"])
    at = sorted({d["at"] for d in video["detections"] if d["what"] == "face"})
    assert at, video
    assert at[0] >= 1.0
    assert 0.0 not in at
    seen = [d for d in video["detections"] if d["what"] == "face"]
    scale = video["frame_size"][0] / 512
    assert any(around(d["box"], (int(FACE_CENTRE[0] * scale), int(FACE_CENTRE[1] * scale))) for d in seen)

    assert [d for d in timeline_of(client, alice, ids["text"])["detections"] if d["what"] == "face"] == []

    # The timeline's words are indexed: "face" finds the photo and the video, not the note.
    assert search_ids(client, alice, "face") >= {ids["photo"], ids["video"]}
    assert ids["text"] not in search_ids(client, alice, "face")


def put_version(client: TestClient, user: UserFixture, name: str, data: bytes, ctype: str) -> None:
    put = client.put(
        f"/api/v1/folders/root/files/{name}", content=data, headers={**user.headers, "Content-Type": ctype}
    )
    assert put.status_code in {200, 201}, put.text


def test_a_new_version_replaces_the_words_search_finds_and_a_restore_brings_them_back(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    name = "exhibit"
    file_id = upload(
        client, alice, name, media.text_pdf(["Operation Kestrel", "Ledger of payments"]), "application/pdf"
    )
    run_worker(runtime)
    assert file_id in search_ids(client, alice, "kestrel")

    # Version 2 is a picture with no text: the PDF's words no longer describe the file, at once.
    blank = media.ffmpeg(
        tmp_path / "blank.png", "-f", "lavfi", "-i", "color=gray:s=320x240", "-frames:v", "1"
    )
    put_version(client, alice, name, blank, "image/png")
    assert file_id not in search_ids(client, alice, "kestrel")
    run_worker(runtime)
    assert runs_by_skill(client, alice, file_id)["ocr"]["status"] == "done"
    assert file_id not in search_ids(client, alice, "kestrel")
    assert file_id in search_ids(client, alice, name)  # the file itself is still found by its name

    versions = client.get(f"/api/v1/files/{file_id}/versions", headers=alice.headers).json()
    first = next(v for v in versions if v["number"] == 1)
    restored = client.post(f"/api/v1/files/{file_id}/versions/{first['id']}/restore", headers=alice.headers)
    assert restored.status_code == 201, restored.text
    assert file_id in search_ids(client, alice, "kestrel")


def test_a_uk_number_plate_is_read_into_the_timeline_and_found_by_search(
    client: TestClient, alice: UserFixture, runtime: Runtime, tmp_path: Path
) -> None:
    plate = media.uk_plate_scene(tmp_path / "rear.png", "AB12 CDE")
    ids = {
        "photo": upload(client, alice, "rear.png", plate, "image/png"),
        "video": upload(
            client,
            alice,
            "dashcam.mp4",
            media.appearing_video(tmp_path / "dash.mp4", tmp_path / "rear.png", size="1280x720"),
            "video/mp4",
        ),
        "front": upload(
            client,
            alice,
            "front.png",
            media.uk_plate_scene(tmp_path / "front.png", "K123 LMN", colour="white", width=200),
            "image/png",
        ),
        "not a plate": upload(
            client,
            alice,
            "sign.png",
            media.uk_plate_scene(tmp_path / "sign.png", "HELLO WORLD", colour="white"),
            "image/png",
        ),
    }
    run_worker(runtime)

    photo = timeline_of(client, alice, ids["photo"])
    (read,) = [d for d in photo["detections"] if d.get("text")]
    assert (read["text"], read["shown"], read["format"]) == ("AB12CDE", "AB12 CDE", "current")
    assert read["at"] is None
    assert around(read["box"], (490 + 150, 480 + 32))  # the plate: 300 x 64 at (490, 480)

    video = timeline_of(client, alice, ids["video"])
    seen = [d for d in video["detections"] if d.get("text") == "AB12CDE"]
    assert seen, video
    assert min(d["at"] for d in seen) >= 1.0  # after the blank second
    assert all(around(d["box"], (640, 512)) for d in seen)

    front = [d for d in timeline_of(client, alice, ids["front"])["detections"] if d.get("text")]
    assert [(d["text"], d["format"]) for d in front] == [("K123LMN", "prefix")]
    assert [d for d in timeline_of(client, alice, ids["not a plate"])["detections"] if d.get("text")] == []

    assert search_ids(client, alice, "AB12CDE") == {ids["photo"], ids["video"]}
    assert search_ids(client, alice, "AB12 CDE") >= {ids["photo"], ids["video"]}
    assert search_ids(client, alice, "K123LMN") == {ids["front"]}
    run = runs_by_skill(client, alice, ids["photo"])["detections"]
    assert "1 read" in run["cards"][0]["summary"]
