"""Skills benchmark (issue 19): OCR pages per minute, transcription real-time factor, and index lag
after upload (p95): the time from an upload's 201 until its words are listed for the search index.
`looking`: the face and number-plate skill's CPU-seconds per image and per minute of video (a
1280 x 720 scene with a real face and a UK plate; one frame a second is looked at).

    .venv/bin/python bench/bench_skills.py --pages 6 --speech-seconds 30 --uploads 20
    .venv/bin/python bench/bench_skills.py --parts looking --runs 6 --video-seconds 60

OCR and transcription run the skills' own code (locked-down tools in a temp dir), so CPU is that of
this process plus its children (tesseract, ffmpeg). The index lag runs a real app and worker thread
on SQLite with everything else the worker does after an upload (previews, thumbnails).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_audit import runtime_for
from fastapi.testclient import TestClient

from strongroom.actors import Actor
from strongroom.app import create_app
from strongroom.config import PreviewSettings, SkillSettings
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.identity import tokens, users
from strongroom.jobs import tasks
from strongroom.jobs.worker import Worker
from strongroom.skills import cards, looking, reading, speech

FONT = "/usr/share/fonts/truetype/dejavu/DejaVu" + "Sans.ttf"
PASSAGE = (
    "At nine forty the suspect left the bus garage on foot and walked north along the ring road. "
    "Two officers followed at a distance and lost sight of him near the railway bridge. "
)


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def page_image(path: Path, n: int) -> None:
    """An A4-like page at 150 dpi with twenty lines of text."""
    lines = ",".join(
        f"drawtext=text='Line {i} of page {n} witness statement exhibit {i * n}':fontsize=28:"
        f"fontcolor=black:x=80:y={80 + i * 70}:fontfile={FONT}"
        for i in range(20)
    )
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=white:s=1240x1754",
         "-frames:v", "1", "-vf", lines, str(path)],
        check=True,
    )  # fmt: skip


def bench_ocr(tmp: Path, pages: int) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    for n in range(pages):
        page_image(tmp / f"p{n}.png", n)
        pdf.add_page()
        pdf.image(str(tmp / f"p{n}.png"), x=0, y=0, w=210)
    scan = tmp / "scan.pdf"
    scan.write_bytes(bytes(pdf.output()))
    work = tmp / "ocr"
    work.mkdir()
    wall, used = time.perf_counter(), cpu()
    texts, _ = reading.ocr(scan, cwd=work, limits=PreviewSettings(), settings=SkillSettings())
    wall, used = time.perf_counter() - wall, cpu() - used
    found = sum("witness statement" in t for t in texts)
    print(
        f"OCR: {pages} scanned pages (300 dpi) in {wall:.1f} s wall, {used:.1f} CPU-s: "
        f"{pages / wall * 60:.1f} pages/min wall, {pages / used * 60:.1f} pages per CPU-minute "
        f"({found}/{pages} pages read back)"
    )


def bench_transcript(tmp: Path, seconds: int) -> None:
    text = " ".join([PASSAGE] * max(1, seconds // 12))
    wav = tmp / "call.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True, capture_output=True)
    work = tmp / "asr"
    work.mkdir()
    wall, used = time.perf_counter(), cpu()
    result = speech.transcribe(wav, cwd=work, limits=PreviewSettings(), settings=SkillSettings())
    wall, used = time.perf_counter() - wall, cpu() - used
    duration = result["duration"]
    print(
        f"Transcript: {duration:.1f} s of speech by {result['model']}: {wall:.1f} s wall, {used:.1f} CPU-s: "
        f"real-time factor {wall / duration:.2f} (wall), {used / duration:.2f} (CPU)"
    )


def bench_index_lag(tmp: Path, uploads: int) -> None:
    runtime = runtime_for(tmp / "lag", None)
    with transaction(runtime.sessions) as session:
        system = Actor.system(label="bench")
        user = users.create_user(session, system, email="bench@force.police.test", clock=runtime.clock)
        content_folders.create_root_folder(session, user, clock=runtime.clock)
        _, token = tokens.issue_token(
            session, system, user=user, name="bench", expires_at=None, clock=runtime.clock
        )
    worker = Worker(runtime, runtime.jobs, tasks.handlers(), [])
    thread = threading.Thread(target=worker.run_forever, kwargs={"poll_seconds": 0.05}, daemon=True)
    thread.start()
    lags = []
    with TestClient(create_app(runtime), headers={"Authorization": f"Bearer {token}"}) as client:
        for n in range(uploads):
            body = f"Statement {n}: the van was seen near exhibit {os.urandom(4).hex()}.".encode()
            put = client.put(f"/api/v1/folders/root/files/s{n}.txt", content=body)
            uploaded = time.perf_counter()
            file_id = put.json()["id"]
            while True:
                with runtime.sessions() as session:
                    if cards.search_texts(session, item_id=file_id):
                        break
                if time.perf_counter() - uploaded > 300:
                    sys.exit(f"upload {n} was not indexed within 300 s")
                time.sleep(0.02)
            lags.append(time.perf_counter() - uploaded)
    worker.stop()
    thread.join(timeout=30)
    runtime.close()
    lags.sort()
    p95 = lags[min(len(lags) - 1, round(0.95 * len(lags)) - 1)]
    print(
        f"Index lag after upload (text files, one worker thread): median {statistics.median(lags):.2f} s, "
        f"p95 {p95:.2f} s, max {lags[-1]:.2f} s over {uploads} uploads"
    )


def scene(path: Path) -> None:
    """A UK plate on a drawn car (tests/skills/media.py) with NASA's public-domain astronaut portrait
    pasted top left: a face and a plate in every frame."""
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.skills import media

    media.uk_plate_scene(path, "AB12 CDE")
    picture = Image.open(path)
    face = Image.open(Path(__file__).resolve().parent.parent / "tests/skills/data/astronaut.jpg")
    picture.paste(face.resize((440, 440)), (20, 20))
    picture.save(path)


def _look(path: Path, work: Path) -> tuple[float, float, dict[str, object]]:
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        wall, used = time.perf_counter(), cpu()
        timeline = looking.detect(path, cwd=Path(tmp), limits=PreviewSettings(), settings=SkillSettings())
        return time.perf_counter() - wall, cpu() - used, timeline


def bench_looking(tmp: Path, runs: int, video_seconds: int) -> None:
    picture = tmp / "scene.png"
    scene(picture)
    video = tmp / "scene.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-t", str(video_seconds), "-i", str(picture),
         "-vf", "fps=25,format=yuv420p", "-c:v", "libx264", str(video)],
        check=True,
    )  # fmt: skip
    work = tmp / "looking"
    work.mkdir()
    for what, path, per in (("image", picture, 1.0), ("video-minute", video, video_seconds / 60)):
        timings = [_look(path, work) for _ in range(runs)][1:]  # the first warms caches: discarded
        timeline = timings[-1][2]
        print(
            f"Faces and plates, per {what} ({len(timings)} runs, first discarded): "
            f"median {statistics.median(t[1] for t in timings) / per:.2f} CPU-s, "
            f"{statistics.median(t[0] for t in timings) / per:.2f} s wall; "
            f"{looking.summary(timeline)}, plates read: {sorted(set(looking.plate_words(timeline)))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--speech-seconds", type=int, default=30)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--video-seconds", type=int, default=60)
    parser.add_argument("--parts", default="ocr,transcript,lag,looking")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        if "ocr" in parts:
            bench_ocr(Path(tmp), args.pages)
        if "transcript" in parts:
            bench_transcript(Path(tmp), args.speech_seconds)
        if "lag" in parts:
            bench_index_lag(Path(tmp), args.uploads)
        if "looking" in parts:
            bench_looking(Path(tmp), args.runs, args.video_seconds)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
