"""The acceptance journey in a real browser (Debian chromium driven by Playwright), with axe-core on
every page and a screenshot of each page in test-artifacts/screenshots/.

Needs: `apt-get install -y chromium ffmpeg`, `pip install playwright` (never `playwright install`),
`npm install --prefix <repo> axe-core`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Settings
from tests.support.live import LiveServer
from tests.support.users import PASSWORD, UserFixture
from tests.web.mail_sink import Sink, start_sink

pytestmark = pytest.mark.interop

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
VIDEO_MB = int(os.environ.get("STRONGROOM_TEST_VIDEO_MB", "200"))
RECIPIENT = "prosecutor@cps.example.test"


def require_tools() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install -y chromium)")
    if shutil.which("ffmpeg") is None:
        missing.append("ffmpeg (apt-get install -y --no-install-recommends ffmpeg)")
    if not AXE.exists():
        missing.append("axe-core (npm install --prefix <repo> axe-core)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright; never `playwright install`)")
    if missing:
        pytest.fail("browser tests need: " + ", ".join(missing))


@pytest.fixture
def mail() -> Iterator[tuple[Any, Sink]]:
    controller, sink = start_sink()
    yield controller, sink
    controller.stop()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, mail: tuple[Any, Sink]) -> Settings:
    """Like the shared fixture, but with room for a 200 MB upload and mail going to the sink."""
    controller, _ = mail
    return Settings(
        dev_mode=True,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        database={"url": database_url, "pool_size": 5},  # type: ignore[arg-type]
        limits={"segment_bytes": 1024 * 1024, "max_upload_bytes": 1024 * 1024 * 1024},  # type: ignore[arg-type]
        mail={"host": controller.hostname, "port": controller.port},  # type: ignore[arg-type]
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    require_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_page(page: Any, shots: Path, name: str) -> None:
    """Screenshot the page, then assert axe-core finds no serious or critical violation on it."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    # Through DevTools, not a <script> tag: our CSP rightly refuses inline script.
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"axe-core on {name}: " + "; ".join(bad)


def make_video(path: Path, megabytes: int) -> Path:
    seconds = max(4, megabytes // 5)  # 40 Mbit/s constant bitrate = 5 MB a second
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "40M", "-minrate", "40M",
         "-maxrate", "40M", "-bufsize", "4M", "-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
        check=True,
    )  # fmt: skip
    return path


def sign_in(page: Any, server: LiveServer, email: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/files/"))


def on_live_server(url: str, server: LiveServer) -> str:
    """Links carry the configured public URL; the test server listens on a free port instead."""
    return server.url + "/" + url.split("/", 3)[3]


def live_server_runtime(page: Any, server: LiveServer) -> Any:
    app = server.server.config.app
    return app.state.runtime


def recorded_reads(runtime: Any, file_id: str) -> list[str]:
    """The reads of a file's content the audit trail holds (downloads, plays, previews), oldest first."""
    from sqlalchemy import select

    from strongroom.audit.models import AuditEvent
    from strongroom.db.session import transaction

    kinds = ("content.version.read", "content.version.played", "content.preview.read")
    with transaction(runtime.sessions) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.item_id == file_id, AuditEvent.action.in_(kinds))
                .order_by(AuditEvent.seq)
            )
        )


def upload_progress(page: Any) -> int:
    return int(page.eval_on_selector("#upload-list progress", "p => p.value") or 0)


def test_staff_and_external_journey(
    browser: Any,
    live_server: LiveServer,
    alice: UserFixture,
    shots: Path,
    tmp_path: Path,
    mail: tuple[Any, Sink],
) -> None:
    _, sink = mail
    video = make_video(tmp_path / "bwv-2026-0423-pc1234.mp4", VIDEO_MB)
    staff = browser.new_context(viewport={"width": 1366, "height": 900})
    page = staff.new_page()
    page.goto(f"{live_server.url}/login")
    check_page(page, shots, "01-sign-in")
    page.get_by_label("E-mail address").fill(alice.email)
    page.get_by_label("Password").fill("wrong password, surely")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    check_page(page, shots, "02-sign-in-error")
    sign_in(page, live_server, alice.email)
    check_page(page, shots, "03-files-empty")

    # Create a folder and go into it.
    page.get_by_role("button", name="New folder").click()
    page.get_by_label("Folder name").fill("Op KESTREL 2026-0423")
    check_page(page, shots, "04-new-folder-dialog")
    page.get_by_role("button", name="Create folder").click()
    page.get_by_role("link", name="Op KESTREL 2026-0423").click()
    page.wait_for_selector("#folder-title:has-text('Op KESTREL')")

    # Upload 200 MB, drop the network part-way, then reload the page part-way: it resumes both times.
    page.set_input_files("#file-input", str(video))
    page.wait_for_function(
        "() => (document.querySelector('#upload-list progress')?.value || 0) >= 10", timeout=120_000
    )
    staff.set_offline(True)
    page.wait_for_function(
        "() => /Offline|Connection problem/.test("
        "document.querySelector('#upload-list .sr-upload__state').textContent)",
        timeout=60_000,
    )
    offline_at = upload_progress(page)
    staff.set_offline(False)
    page.wait_for_function(
        f"() => (document.querySelector('#upload-list progress')?.value || 0) > {max(offline_at, 30)}",
        timeout=120_000,
    )
    page.screenshot(path=str(shots / "05-uploading.png"), full_page=True)
    page.reload()
    notice = page.get_by_text("Unfinished uploads")
    assert notice.is_visible(), "after a reload the page names the upload to resume"
    check_page(page, shots, "06-unfinished-upload")
    page.set_input_files("#file-input", str(video))
    resumed = page.wait_for_selector("#upload-list li[data-resumed='true']", timeout=30_000)
    page.wait_for_selector("#upload-list .sr-upload--done", timeout=300_000)
    first_sent = int(resumed.get_attribute("data-first-sent") or 0)
    assert first_sent > 0.3 * video.stat().st_size, "the upload carried on where it stopped, not from zero"
    page.wait_for_selector(f"a:has-text('{video.name}')", timeout=30_000)
    check_page(page, shots, "07-folder-with-video")

    # Play it and seek.
    page.get_by_role("link", name=video.name).click()
    page.wait_for_selector("#player")
    # preload="none": the page loads nothing of the recording until play is pressed (a truthful record).
    assert page.evaluate("() => document.querySelector('#player').readyState") == 0
    page.evaluate("() => { const v = document.querySelector('#player'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 2", timeout=60_000)
    page.evaluate("() => { const v = document.querySelector('#player'); v.currentTime = 21; }")
    page.wait_for_function(
        "() => { const v = document.querySelector('#player');"
        " return !v.seeking && v.currentTime > 20 && v.readyState >= 2; }",
        timeout=30_000,
    )
    check_page(page, shots, "08-item-video")
    played_file = page.locator("#item-actions").get_attribute("data-id")
    reads = recorded_reads(live_server_runtime(page, live_server), played_file or "")
    assert reads == ["content.version.played"], "one play with its seeks is one 'played' entry"
    sha = page.locator("#sha256").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", sha)

    # Share preview-only with a prosecutor who must prove their e-mail address.
    page.get_by_role("button", name="Share").first.click()
    page.get_by_label("Recipients' e-mail addresses").fill(RECIPIENT)
    page.get_by_label("Watch or read in the browser only (no download)").check()
    check_page(page, shots, "09-share-dialog")
    page.get_by_role("button", name="Create link").click()
    page.wait_for_selector("#dialog-share [data-share-result]:visible, #dialog-share [data-error]:visible")
    url = page.locator("#share-link-url").input_value()
    assert "/s/" in url, page.locator("#dialog-share [data-error]").inner_text()
    url = on_live_server(url, live_server)
    # The background worker (`strongroom worker` in production) makes the preview rendition.
    from strongroom.jobs import tasks
    from strongroom.jobs.worker import Worker

    file_id = page.locator("#item-actions").get_attribute("data-id")
    page.evaluate(
        """async (id) => { await fetch(`/api/v1/files/${id}/preview`, {method: 'POST',
             headers: {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}}); }""",
        file_id,
    )
    runtime = live_server_runtime(page, live_server)
    Worker(runtime, runtime.jobs, tasks.handlers(), []).run_until_idle()

    outsider = browser.new_context(viewport={"width": 1280, "height": 860})
    ext = outsider.new_page()
    ext.goto(url)
    check_page(ext, shots, "10-external-landing")
    email_box = ext.get_by_label("E-mail address")
    if not email_box.is_visible():
        ext.get_by_role("button").first.click()
    ext.get_by_label("E-mail address").fill(RECIPIENT)
    ext.get_by_role("button", name=re.compile("code", re.IGNORECASE)).click()
    check_page(ext, shots, "11-external-code")
    ext.get_by_label(re.compile("code", re.IGNORECASE)).fill(sink.wait_for_code(RECIPIENT))
    ext.get_by_role("button", name="Continue").click()
    ext.wait_for_load_state("networkidle")
    ext.screenshot(path=str(shots / "12a-external-after-code.png"), full_page=True)
    player = ext.locator("video")
    player.wait_for(timeout=30_000)
    ext.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
    ext.wait_for_function("() => document.querySelector('video').readyState >= 2", timeout=60_000)
    ext.evaluate("() => { document.querySelector('video').currentTime = 5; }")
    ext.wait_for_function("() => document.querySelector('video').currentTime >= 4.9", timeout=30_000)
    assert ext.get_by_role("link", name=re.compile("download", re.IGNORECASE)).count() == 0, (
        "preview-only shows no download"
    )
    assert player.get_attribute("controlslist") == "nodownload", "the player offers no save button"
    details = ext.locator("#details-title + dl").inner_text()
    assert re.search(r"\d+\.\d MB \([\d,]+ bytes\)", details), details  # "200.3 MB (200,326,078 bytes)"
    check_page(ext, shots, "12-external-player")

    # The view is in the access report.
    page.reload()
    # Reading the access report is itself audited: the page asks why before it shows it.
    page.get_by_label("Reason for reading the access report").fill("Disclosure check for CPS")
    page.get_by_role("button", name="Show access report").click()
    page.wait_for_selector("#access-table", timeout=30_000)
    report = page.locator("#access-report").inner_text()
    assert RECIPIENT in report
    what = page.locator("#access-table tbody td:nth-child(3)").all_inner_texts()
    assert what.count("Uploaded") == 1, "each upload once"
    assert "New version uploaded" not in what
    assert "Code accepted" in what
    plays = [w for w in what if w.startswith("Played")]
    assert len(plays) == 2, what  # one by the investigator, one through the link: seeks fold into each
    who = page.locator("#access-table tbody td:nth-child(2)").all_inner_texts()
    assert "previews" not in who, "system work is named as the system"
    dates = page.locator("#access-table tbody td:nth-child(1)").all_inner_texts()
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d (GMT|BST)", d) for d in dates), dates
    raw = [w for w in what if re.fullmatch(r"[a-z_]+(\.[a-z_]+)+", w)]
    assert not raw, f"raw audit actions shown: {raw}"
    check_page(page, shots, "13-access-report")

    # A third party sends files through an upload request and gets a receipt with the hash.
    page.goto(f"{live_server.url}/files/{alice.root_id}")
    page.get_by_role("button", name="Request files").click()
    page.get_by_label("Title they will see").fill("CCTV from the 42 bus, 3 March")
    page.get_by_role("button", name="Create upload link").click()
    page.wait_for_selector("[data-request-result]:visible, #dialog-upload-request [data-error]:visible")
    request_url = page.locator("#request-url").input_value()
    assert "/r/" in request_url, page.locator("#dialog-upload-request [data-error]").inner_text()
    request_url = on_live_server(request_url, live_server)
    check_page(page, shots, "14-upload-request-created")
    garage = browser.new_context().new_page()
    garage.goto(request_url)
    check_page(garage, shots, "15-upload-request-form")
    clip = tmp_path / "camera-3.txt"
    clip.write_bytes(b"pretend CCTV export\n" * 1000)
    garage.get_by_label("Your name").fill("Sam Driver")
    garage.get_by_label("Your e-mail address").fill("sam@garage.example.test")
    garage.set_input_files("#files", str(clip))
    garage.get_by_role("button", name="Send files").click()
    import hashlib

    expected = hashlib.sha256(clip.read_bytes()).hexdigest()
    garage.wait_for_selector(f"text={expected}", timeout=60_000)
    check_page(garage, shots, "16-upload-receipt")


def test_file_browser_is_keyboard_operable(
    browser: Any, live_server: LiveServer, alice: UserFixture, shots: Path
) -> None:
    page = browser.new_context().new_page()
    sign_in(page, live_server, alice.email)
    # New folder with the keyboard only: tab to the button, Enter, type, Enter.
    button = page.get_by_role("button", name="New folder")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "New folder":
            break
    assert button.evaluate("b => b === document.activeElement"), "New folder is reachable with Tab"
    page.keyboard.press("Enter")
    page.keyboard.type("Exhibits")
    page.keyboard.press("Enter")
    page.wait_for_selector("a:has-text('Exhibits')")

    # Tab to the item's checkbox, tick it with Space, then rename it from the toolbar with Enter.
    box = page.get_by_label("Select Exhibits")
    for _ in range(60):
        page.keyboard.press("Tab")
        if box.evaluate("b => b === document.activeElement"):
            break
    assert box.evaluate("b => b === document.activeElement"), "the row checkbox is reachable with Tab"
    page.keyboard.press("Space")
    assert box.is_checked()
    assert page.get_by_text("1 item selected").is_visible()
    page.get_by_role("button", name="Rename").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Control+A")
    page.keyboard.type("Exhibits (sealed)")
    page.keyboard.press("Enter")
    page.wait_for_selector("a:has-text('Exhibits (sealed)')")
    # Escape closes a dialog and gives focus back to the button that opened it.
    page.get_by_label("Select Exhibits (sealed)").check()
    delete = page.get_by_role("button", name="Delete")
    delete.focus()
    page.keyboard.press("Enter")
    assert page.locator("#dialog-delete").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#dialog-delete").is_visible()
    assert delete.evaluate("b => b === document.activeElement")
    # Every focused control shows a visible focus indicator (WCAG 2.4.7).
    outline = delete.evaluate("b => getComputedStyle(b).backgroundColor")
    assert outline == "rgb(255, 221, 0)"
    check_page(page, shots, "17-keyboard")


def test_other_staff_pages_pass_axe(
    browser: Any, live_server: LiveServer, admin: UserFixture, shots: Path
) -> None:
    import httpx

    with httpx.Client(base_url=live_server.url, headers=admin.headers) as api:
        made = api.put(f"/api/v1/folders/{admin.root_id}/files/note.txt", content=b"note")
        link = api.post(f"/api/v1/items/{made.json()['id']}/shared-links", json={"download_limit": 2}).json()
        api.post(f"/api/v1/folders/{admin.root_id}/upload-requests", json={"title": "Dashcam footage"})
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    sign_in(page, live_server, admin.email)
    for path, name in [("/trash", "20-trash"), ("/settings", "21-settings"), ("/admin/users", "22-users"),
                       ("/admin/groups", "23-admin-groups"), ("/admin/audit", "24-admin-audit"),
                       ("/my/shared-links", "25-my-links"), ("/my/upload-requests", "26-my-requests"),
                       (f"/my/shared-links/{link['id']}/revoke", "27-confirm-revoke")]:  # fmt: skip
        page.goto(f"{live_server.url}{path}")
        check_page(page, shots, name)
    # The token made on the settings page is shown once, and the page still passes with it shown.
    page.goto(f"{live_server.url}/settings")
    page.get_by_label("Name", exact=True).fill("Laptop drive")
    page.get_by_role("button", name="Make token").click()
    page.wait_for_selector("#new-token-value")
    check_page(page, shots, "28-token-made")
