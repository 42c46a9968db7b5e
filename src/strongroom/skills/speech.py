"""The skill that listens: a transcript with timings of the speech in audio and video.

ffmpeg (locked down) decodes the sound into 16 kHz mono 16-bit PCM; only those raw samples reach the
recogniser, so no media parser runs in this process. The recogniser is:

* faster-whisper, when `skills.whisper_model_path` names a CTranslate2 model directory (loaded from
  that path only, never downloaded; needs `pip install strongroom[whisper]`);
* otherwise pocketsphinx with its bundled US-English model: it works with no download, on any CPU,
  and is much less accurate; every transcript names the model that made it.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

from strongroom.config import PreviewSettings, SkillSettings
from strongroom.content import media_types
from strongroom.skills.tools import SkillFailed, ffmpeg

RATE = 16_000
FRAMES_PER_SECOND = 100  # pocketsphinx's frame rate
PAUSE = 0.6  # seconds of silence that end a transcript segment
SEGMENT_WORDS = 15
_FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "(NULL)"})
POCKETSPHINX_MODEL = "pocketsphinx 5 (bundled en-us acoustic model, en-us language model)"


def pcm(plain: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> bytes:
    """The file's sound as 16 kHz mono signed 16-bit little-endian samples."""
    with plain.open("rb") as data:
        sniffed = media_types.sniff(data.read(media_types.HEAD_BYTES))
    if media_types.media_family(sniffed) not in {"audio", "video"} or sniffed is None:
        raise SkillFailed(f"The file is {media_types.describe(sniffed)}: there is no sound to transcribe.")
    output = ["-vn", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "pipe:1"]
    samples = ffmpeg(
        sniffed=sniffed, source=plain, output=output, cwd=cwd, limits=limits, timeout=settings.timeout_seconds
    )
    if not samples:
        raise SkillFailed("The file has no sound track.")
    return samples


def _segments(words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Words grouped into segments at pauses, for reading and for seeking a player."""
    segments: list[dict[str, Any]] = []
    for word in words:
        last = segments[-1] if segments else None
        if last is None or word["start"] - last["end"] > PAUSE or len(last["words"]) >= SEGMENT_WORDS:
            segments.append({"start": word["start"], "end": word["end"], "words": [word]})
        else:
            last["end"] = word["end"]
            last["words"].append(word)
    for segment in segments:
        segment["text"] = " ".join(w["word"] for w in segment["words"])
    return segments


def _pocketsphinx(samples: bytes) -> dict[str, Any]:
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=RATE, loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(samples, no_search=False, full_utt=True)
    decoder.end_utt()
    words = []
    for seg in decoder.seg():
        word = seg.word.split("(")[0]  # "read(2)": the second pronunciation of "read"
        if seg.word in _FILLERS or word in _FILLERS or word.startswith(("<", "[")):
            continue
        words.append(
            {
                "word": word,
                "start": round(seg.start_frame / FRAMES_PER_SECOND, 2),
                "end": round((seg.end_frame + 1) / FRAMES_PER_SECOND, 2),
            }
        )
    return {"model": POCKETSPHINX_MODEL, "language": "en", "segments": _segments(words)}


@functools.cache
def _whisper(path: str) -> Any:
    try:
        module = importlib.import_module("faster_whisper")
    except ImportError as exc:
        raise SkillFailed(
            "skills.whisper_model_path is set but faster-whisper is not installed "
            "(pip install 'strongroom[whisper]')"
        ) from exc
    if not Path(path).is_dir():
        raise SkillFailed(f"skills.whisper_model_path {path} is not a model directory")
    return module.WhisperModel(path, device="cpu", compute_type="int8", local_files_only=True)


def _faster_whisper(samples: bytes, path: str) -> dict[str, Any]:
    import numpy as np

    audio = np.frombuffer(samples, dtype=np.int16).astype(np.float32) / 32768.0
    found, info = _whisper(path).transcribe(audio, word_timestamps=True, vad_filter=True)
    words = [
        {"word": w.word.strip(), "start": round(w.start, 2), "end": round(w.end, 2)}
        for segment in found
        for w in segment.words or []
    ]
    return {
        "model": f"faster-whisper ({Path(path).name})",
        "language": info.language,
        "segments": _segments(words),
    }


def transcribe(plain: Path, *, cwd: Path, limits: PreviewSettings, settings: SkillSettings) -> dict[str, Any]:
    """The transcript: model, language, duration, and segments of timed words."""
    samples = pcm(plain, cwd=cwd, limits=limits, settings=settings)
    if settings.whisper_model_path:
        transcript = _faster_whisper(samples, settings.whisper_model_path)
    else:
        transcript = _pocketsphinx(samples)
    transcript["duration"] = round(len(samples) / 2 / RATE, 2)
    return transcript


def transcript_text(transcript: dict[str, Any]) -> str:
    return " ".join(s["text"] for s in transcript["segments"])
