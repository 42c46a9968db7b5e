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


def appearing_video(path: Path, picture: Path, *, size: str = "512x512", blank_seconds: int = 1) -> bytes:
    """`blank_seconds` of black, then `picture` (scaled to `size`) for three seconds: H.264, 10 fps."""
    width, height = size.split("x")
    graph = (
        f"[0]fps=10,setsar=1,format=yuv420p[a];[1]fps=10,scale={width}:{height},setsar=1,format=yuv420p[b];"
        "[a][b]concat=n=2:v=1:a=0"
    )
    return ffmpeg(
        path,
        *("-f", "lavfi", "-i", f"color=black:s={size}:d={blank_seconds}"),
        *("-loop", "1", "-t", "3", "-i", str(picture)),
        *("-filter_complex", graph, "-c:v", "libx264", "-pix_fmt", "yuv420p"),
    )


def uk_plate_scene(path: Path, text: str, *, colour: str = "#ffcc00", width: int = 300) -> bytes:
    """A UK-style plate (520 x 111 proportions, black border, black DejaVu Sans Bold characters on
    yellow or white) on the back of a drawn car, in a 1280 x 720 picture: the plate's top left corner
    is at (490, 480)."""
    from PIL import Image, ImageDraw, ImageFont

    plate = Image.new("RGB", (520, 111), colour)
    draw = ImageDraw.Draw(plate)
    draw.rectangle([0, 0, 519, 110], outline="black", width=4)
    font = ImageFont.truetype(FONT, 84)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(
        ((520 - (right - left)) / 2 - left, (111 - (bottom - top)) / 2 - top), text, font=font, fill="black"
    )
    scene = Image.new("RGB", (1280, 720), (70, 80, 90))
    car = ImageDraw.Draw(scene)
    car.rectangle([300, 250, 980, 620], fill=(150, 20, 30))  # the car's back
    car.rectangle([380, 280, 900, 400], fill=(40, 50, 60))  # its rear window
    scene.paste(plate.resize((width, width * 111 // 520)), (490, 480))
    scene.save(path)
    return path.read_bytes()
