"""Every page of a custody report says which page it is and how many there are, whether the exhibit's
name is plain text (drawn in one step) or needs shaping and another font (drawn by fpdf2)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit import custody

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")

AT = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)


def _bundle(events: int) -> dict[str, Any]:
    return {
        "events": [
            {
                "seq": seq,
                "occurred_at": (AT + timedelta(minutes=seq)).isoformat(),
                "actor_kind": "user",
                "actor_label": "pc.jones@force.police.test",
                "ip": "10.1.2.3",
                "action": "content.version.read",
                "details": '{"via":"api"}',
                "reason": None,
            }
            for seq in range(1, events + 1)
        ],
        "checkpoint": None,  # nothing vouches for it: the report says so, and still lists every page
    }


def _pages(path: Path) -> list[str]:
    args = ["pdftotext", "-layout", str(path), "-"]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


@pytest.mark.parametrize(
    "name",
    [
        "CCTV (bus 12) \\ garage.mp4",  # PDF string specials, plain
        "Zażółć 张伟.mp4",  # another font for the Chinese name
        "张伟 {nb}.mp4",  # fpdf2's page-count alias is text like any other
    ],
)
def test_every_page_says_page_n_of_all(name: str, tmp_path: Path) -> None:
    item = custody.ItemFacts("fi_footer", name, "file", None, exists=True)
    pdf = custody.render_pdf(
        item=item, versions=[], bundle=_bundle(300), generated_at=AT, generated_by="pc.jones@police.test"
    )
    path = tmp_path / "custody.pdf"
    path.write_bytes(pdf)

    pages = _pages(path)
    assert len(pages) > 20
    for number, page in enumerate(pages, start=1):
        footers = re.findall(r"Chain of custody report: (.+) - page (\d+) of (\d+)", page)
        assert footers == [(name, str(number), str(len(pages)))], (number, page[-300:])
