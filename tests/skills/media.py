"""Real test files made here: espeak-ng speech, ffmpeg-drawn text, fpdf2 PDFs, python-docx Word files."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from fpdf import FPDF

QUIET = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def ffmpeg(path: Path, *arguments: str) -> bytes:
    subprocess.run([*QUIET, *arguments, str(path)], check=True, capture_output=True, timeout=180)
    return path.read_bytes()


def text_image(
    path: Path, text: str, *, size: str = "1600x300", box: str = "white", colour: str = "black"
) -> bytes:
    draw = f"drawtext=text='{text}':fontsize=110:fontcolor={colour}:x=40:y=90"
    if Path(FONT).is_file():
        draw += f":fontfile={FONT}"
    return ffmpeg(path, "-f", "lavfi", "-i", f"color={box}:s={size}", "-frames:v", "1", "-vf", draw)


def speech(path: Path, sentence: str) -> bytes:
    subprocess.run(
        ["espeak-ng", "-s", "140", "-w", str(path), sentence], check=True, capture_output=True, timeout=60
    )
    return path.read_bytes()


def video_with_speech(path: Path, wav: Path) -> bytes:
    picture = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"]
    return ffmpeg(
        path, *picture, "-i", str(wav), "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"
    )


def text_pdf(lines: list[str]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=16)
    for line in lines:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def scanned_pdf(image: Path) -> bytes:
    """A PDF holding only a picture of text: what a scanner makes (no text layer)."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(image), x=10, y=20, w=190)
    return bytes(pdf.output())


def docx(paragraphs: list[str]) -> bytes:
    from docx import Document

    document = Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def plate_photo(path: Path, text: str) -> bytes:
    """A white 300 x 65 plate with black characters, at (250, 250) in a grey 1000 x 600 scene."""
    plate = (
        "[1]drawbox=x=0:y=0:w=iw:h=ih:color=black:t=4,"
        f"drawtext=text='{text}':fontsize=44:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2"
    )
    if Path(FONT).is_file():
        plate += f":fontfile={FONT}"
    return ffmpeg(
        path,
        *("-f", "lavfi", "-i", "color=gray:s=1000x600", "-f", "lavfi", "-i", "color=white:s=300x65"),
        *("-filter_complex", f"{plate}[p];[0][p]overlay=250:250", "-frames:v", "1"),
    )


def face_video(path: Path, picture: Path, *, blank_seconds: int = 1, shown_seconds: int = 3) -> bytes:
    """`blank_seconds` of black, then `picture` for `shown_seconds`: H.264 at 10 frames a second."""
    graph = (
        "[0]fps=10,setsar=1,format=yuv420p[a];[1]fps=10,scale=512:512,setsar=1,format=yuv420p[b];"
        "[a][b]concat=n=2:v=1:a=0"
    )
    return ffmpeg(
        path,
        *("-f", "lavfi", "-i", f"color=black:s=512x512:d={blank_seconds}"),
        *("-loop", "1", "-t", str(shown_seconds), "-i", str(picture)),
        *("-filter_complex", graph, "-c:v", "libx264", "-pix_fmt", "yuv420p"),
    )
