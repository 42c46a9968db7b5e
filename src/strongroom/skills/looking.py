"""The skill that looks: faces and number plates in images and video frames, as a timeline.

ffmpeg (locked down) turns an image, or one video frame every `skills.frame_every_seconds`, into
greyscale PGM frames, so OpenCV only ever decodes files ffmpeg wrote. The detectors are the Haar
cascades shipped by opencv-python-headless 4.x: `haarcascade_frontalface_default` for faces, and
`haarcascade_russian_plate_number` for plates (trained on Russian plates: it finds many UK plates
too but misses some; the card names both cascades). UK plates are also looked for and read by
plates.py (their text goes on the timeline and into search). The timeline is for a later redaction step,
which must still be checked by a person: a Haar cascade misses turned faces and finds false ones.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from strongroom.config import PreviewSettings, SkillSettings
from strongroom.content import media_types
from strongroom.skills import plates
from strongroom.skills.tools import SkillFailed, ffmpeg

CASCADES = {
    "face": "haarcascade_frontalface_default.xml",
    "number_plate": "haarcascade_russian_plate_number.xml",
}
WIDTH = 1280  # frames are scaled down to at most this width before detection
MAX_FRAMES = 36_000  # ten hours at one frame a second
MIN_SIDE = {"face": 24, "number_plate": 20}


def model_name() -> str:
    import cv2

    names = ", ".join(f"{what}: {file}" for what, file in CASCADES.items())
    return f"OpenCV {cv2.__version__} Haar cascades ({names})"


@functools.cache
def _cascade(what: str) -> Any:
    import cv2

    path = Path(cv2.data.haarcascades) / CASCADES[what]  # type: ignore[attr-defined]
    if not path.is_file():
        raise SkillFailed(f"OpenCV's {CASCADES[what]} is missing: install opencv-python-headless 4.x")
    return cv2.CascadeClassifier(str(path))


def _frames(
    plain: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings
) -> tuple[str, list[Path]]:
    with plain.open("rb") as data:
        sniffed = media_types.sniff(data.read(media_types.HEAD_BYTES))
    family = media_types.media_family(sniffed)
    if family not in {"image", "video"} or sniffed is None:
        raise SkillFailed(f"The file is {media_types.describe(sniffed)}: not an image or a video.")
    frames = cwd / "frames"
    frames.mkdir()
    scale = f"scale='min({WIDTH},iw)':-2,format=gray"
    picked = f"fps=1/{settings.frame_every_seconds:g},{scale}" if family == "video" else scale
    output = ["-an", "-vf", picked, "-frames:v", str(MAX_FRAMES if family == "video" else 1)]
    target = f"file:{(frames / 'f%06d.pgm').resolve()}"
    ffmpeg(
        sniffed=sniffed,
        source=plain,
        output=[*output, "-f", "image2", target],
        cwd=cwd,
        limits=limits,
        timeout=settings.timeout_seconds,
    )
    return family, sorted(frames.glob("f*.pgm"))


def detect(plain: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> dict[str, Any]:
    """The timeline: each face and number plate found, with its frame time (video) and box; a UK
    plate that could be read also has its `text` ("AB12CDE") and `format` (plates.py)."""
    import cv2

    family, frames = _frames(plain, cwd=cwd, limits=limits, settings=settings)
    detections: list[dict[str, Any]] = []
    size: list[int] = []
    to_read: list[tuple[dict[str, Any], Any]] = []  # (plate detection, its cut-out) awaiting tesseract
    for index, frame in enumerate(frames):
        image = cv2.imread(str(frame), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        size = [int(image.shape[1]), int(image.shape[0])]
        at = round(index * settings.frame_every_seconds, 2) if family == "video" else None
        found = _look(cv2.equalizeHist(image), at)
        detections.extend(found)
        cascade_plates = [d["box"] for d in found if d["what"] == "number_plate"]
        for box in plates.candidates(image, cascade_plates):
            line = plates.cut(image, box)
            if line is not None:
                to_read.append(({"what": "number_plate", "at": at, "box": box}, line))
        if len(to_read) >= plates.BATCH:
            _read_plates(to_read, detections, cwd=cwd, limits=limits, settings=settings)
            to_read = []
    _read_plates(to_read, detections, cwd=cwd, limits=limits, settings=settings)
    return {
        "model": model_name(),
        "source": family,
        "frames_examined": len(frames),
        "frame_every_seconds": settings.frame_every_seconds if family == "video" else None,
        "frame_size": size,
        "detections": detections,
    }


def _look(image: Any, at: float | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for what in CASCADES:
        side = MIN_SIDE[what]
        boxes = _cascade(what).detectMultiScale(image, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
        found.extend(
            {"what": what, "at": at, "box": [int(x), int(y), int(w), int(h)]} for x, y, w, h in boxes
        )
    return found


def _read_plates(
    to_read: list[tuple[dict[str, Any], Any]],
    detections: list[dict[str, Any]],
    *,
    cwd: Path,
    limits: PreviewSettings,
    settings: SkillSettings,
) -> None:
    """Read the waiting candidates. A plate read where one is already marked (by the cascade, or a
    tighter box of the same plate) gives that mark its text; a plate the cascade missed is added; a
    candidate that reads as no UK plate is dropped."""
    if not to_read:
        return
    read = plates.read([line for _, line in to_read], cwd=cwd, limits=limits, settings=settings)
    for (candidate, _), plate in zip(to_read, read, strict=True):
        if plate is None:
            continue
        marked = [
            d
            for d in detections
            if d["what"] == "number_plate"
            and d["at"] == candidate["at"]
            and d.get("text") in {None, plate.text}
            and plates.same_place(d["box"], candidate["box"])
        ]
        if not marked:
            detections.append(candidate)
            marked = [candidate]
        for target in marked:
            target.update(text=plate.text, shown=plate.shown, format=plate.format)


def plate_words(timeline: dict[str, Any]) -> list[str]:
    """The plates read, for search: "AB12CDE AB12 CDE" finds it typed either way."""
    read = {(d["text"], d["shown"]) for d in timeline["detections"] if d.get("text")}
    return [word for text, shown in sorted(read) for word in (text, shown)]


def summary(timeline: dict[str, Any]) -> str:
    faces = sum(1 for d in timeline["detections"] if d["what"] == "face")
    found = sum(1 for d in timeline["detections"] if d["what"] == "number_plate")
    read = len({d["text"] for d in timeline["detections"] if d.get("text")})
    return f"{faces} face(s), {found} number plate(s) ({read} read) in {timeline['frames_examined']} frame(s)"
