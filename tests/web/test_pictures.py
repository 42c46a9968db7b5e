"""Pictures drawn on the server as inline SVG: storage used by kind of file on "Your account", audit
activity per day for admins, and the timeline of one shared link's visits. Each is an image with a
name and a summary a screen reader reads, and the numbers are in a table beside it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient

from strongroom.web import charts
from tests.sharing.test_links import make_link, put_file
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in


def svg_of(html: str, chart_id: str) -> str:
    match = re.search(rf'<figure class="sr-chart" id="{chart_id}">.*?</figure>', html, re.DOTALL)
    assert match, html
    return match.group(0)


def test_storage_used_counts_every_version_by_kind_of_file(client: TestClient, alice: UserFixture) -> None:
    put_file(client, alice, "interview.txt", b"x" * 3000)
    again = client.put(  # a second version: both are kept, both count
        f"/api/v1/folders/{alice.root_id}/files/interview.txt", content=b"y" * 2000, headers=alice.headers
    )
    assert again.status_code == 200, again.text
    made = client.put(
        f"/api/v1/folders/{alice.root_id}/files/bwv.mp4",
        content=(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2").ljust(9000, b"\x00"),
        headers={**alice.headers, "Content-Type": "video/mp4"},
    )
    assert made.status_code == 201, made.text
    sign_in(client, alice.email)
    svg = svg_of(client.get("/settings").text, "storage-chart")
    assert 'role="img"' in svg
    assert '<title id="storage-chart-title">Storage used by kind of file</title>' in svg
    assert "Your files take 14.0 KB in all, most of it video (9.0 KB)." in svg
    assert "<title>Documents: 5.0 KB</title>" in svg
    bars = re.findall(r'<rect class="sr-chart__bar[^"]*" x="[^"]+" y="[^"]+" width="([\d.]+)"', svg)
    assert len(bars) == 2
    assert float(bars[0]) > float(bars[1]), "the longest bar is the biggest kind, first"
    assert "style=" not in svg, "the CSP forbids inline style"


def test_admins_see_audit_activity_per_day(
    client: TestClient, admin: UserFixture, alice: UserFixture
) -> None:
    put_file(client, alice, "statement.txt")
    sign_in(client, admin.email)
    page = client.get("/admin/audit")
    svg = svg_of(page.text, "activity-chart")
    assert "Audit events recorded per day, last 30 days" in svg
    assert re.search(r"Events recorded: [1-9][\d,]* over 30 days, most on", svg)
    assert len(re.findall(r'<rect class="sr-chart__bar"', svg)) == 30
    today = datetime.now(UTC).date()
    assert f"<title>{today.day} {today:%b}: " in svg
    client.cookies.clear()
    sign_in(client, alice.email)
    assert client.get("/admin/audit").status_code == 404


def test_a_links_timeline_shows_its_visits_and_only_to_its_maker(
    client: TestClient, alice: UserFixture, bob: UserFixture
) -> None:
    file_id = put_file(client, alice, "cctv.txt")
    link_id, token = make_link(client, alice, file_id, name="For the CPS")
    with TestClient(client.app) as visitor:  # type: ignore[arg-type]
        assert visitor.get(f"/s/{token}").status_code == 200
        assert visitor.get(f"/s/{token}").status_code == 200
        assert visitor.get(f"/s/{token}/content/{file_id}").status_code == 200
    sign_in(client, alice.email)
    assert f'href="/my/shared-links/{link_id}"' in client.get("/my/shared-links").text
    page = client.get(f"/my/shared-links/{link_id}")
    assert page.status_code == 200
    svg = svg_of(page.text, "link-timeline")
    assert "opened 2 times" in svg
    assert "downloaded 1 time" in svg
    assert len(re.findall(r'class="sr-chart__dot sr-chart__dot--opened"', svg)) == 2
    assert len(re.findall(r'class="sr-chart__dot sr-chart__dot--downloaded"', svg)) == 1
    assert "@" not in svg, "moments only: who it was is in the access report"
    client.cookies.clear()
    sign_in(client, bob.email)
    assert client.get(f"/my/shared-links/{link_id}").status_code == 404


def test_chart_geometry_stays_inside_its_box() -> None:
    first = date(2026, 11, 1)
    days = charts.day_bars(
        {first: 5, first + timedelta(days=3): 50}, first=first, last=first + timedelta(29), what="x"
    )
    assert all(b.x >= 0 and b.x + b.width <= days.width and b.y >= 0 for b in days.bars)
    assert max(b.height for b in days.bars) == days.axis_y - charts.PLOT_TOP
    empty = charts.category_bars([], fmt=str, what="Your files take")
    assert empty.bars == []
    start = datetime(2026, 12, 1, tzinfo=UTC)
    line = charts.timeline(
        [(start - timedelta(days=1), "opened"), (start + timedelta(days=9), "opened")],
        lanes={"opened": "Opened"},
        start=start,
        end=start + timedelta(days=2),
        fmt=lambda m: f"{m:%d %b %Y, %H:%M}",
    )
    assert [d.x for d in line.dots] == [150, charts.WIDTH - 16], "outside the span: pinned to its ends"
