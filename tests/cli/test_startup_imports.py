"""`strongroom --help` (and every command's start) must not pay for the server's libraries.

Checked by what is imported, not by timing: a timing assertion would fail on a busy machine.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HEAVY = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "fpdf",
    "fontTools",
    "alembic",
    "pydantic_settings",
    "httpx",
)

PROBE = """
import json, runpy, sys
sys.argv = ["strongroom", *sys.argv[1:]]
try:
    runpy.run_module("strongroom", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n@@" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_cli(*args: str) -> tuple[str, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False, timeout=120
    )
    text, _, tail = done.stdout.rpartition("\n@@")
    return text, json.loads(tail)


def test_help_lists_every_command_without_importing_the_server_libraries() -> None:
    text, probe = run_cli("--help")
    assert probe["code"] == 0
    for command in ("serve", "worker", "verify", "gc", "scan", "users", "keys", "audit", "login", "upload"):
        assert command in text
    loaded = {name.split(".")[0] for name in probe["modules"]}  # type: ignore[attr-defined]
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_a_command_group_help_stays_light_too() -> None:
    text, probe = run_cli("audit", "--help")
    assert probe["code"] == 0
    assert "verify" in text
    assert "export" in text
    loaded = {name.split(".")[0] for name in probe["modules"]}  # type: ignore[attr-defined]
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_server_loads_neither_the_pdf_library_nor_the_cli_client_libraries() -> None:
    # The PDF library loads when a report is made; httpx (with rich and pygments) when a client
    # command runs: the server process registers the client commands but never runs them.
    probe = (
        "import json, sys, strongroom.cli, strongroom.cli.server, strongroom.app; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout)}
    assert loaded.isdisjoint({"fpdf", "fontTools", "httpx", "pygments"})
    # py_webauthn (with cryptography's x509) loads at a security key's sign-in, scim2 at the first
    # SCIM request: together about 20 MiB every idle server held (issue 14).
    assert loaded.isdisjoint({"webauthn", "scim2_models", "scim2_server"}), sorted(
        loaded & {"webauthn", "scim2_models", "scim2_server"}
    )
    assert "cryptography.x509" not in json.loads(done.stdout)


def test_the_server_app_and_a_start_on_a_current_schema_do_not_load_alembic(tmp_path: Path) -> None:
    # alembic is half a second of start-up; it is needed only when the schema must move.
    probe = (
        "import json, sys\n"
        "from strongroom.config import Settings\n"
        "from strongroom.cli.common import migrate\n"
        "from strongroom.db.migrate import upgrade\n"
        "from strongroom.db.session import make_engine\n"
        "import strongroom.app\n"
        f"settings = Settings(dev_mode=True, data_dir={str(tmp_path)!r})\n"
        "before = 'alembic' in sys.modules\n"
        "for name in [m for m in sys.modules if m.split('.')[0] == 'alembic']:\n"
        "    del sys.modules[name]\n"
        "migrate(settings)\n"  # an empty database: alembic runs
        "first = 'alembic' in sys.modules\n"
        "for name in [m for m in sys.modules if m.split('.')[0] == 'alembic']:\n"
        "    del sys.modules[name]\n"
        "migrate(settings)\n"  # at head now: nothing to do
        "print(json.dumps([before, first, 'alembic' in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, True, False]


def _with_a_test_client(tmp_path: Path, probe: str) -> Any:
    """Run `probe` in a fresh interpreter after it has built the app on a new SQLite database as
    `client` (a TestClient); what it printed last, as JSON."""
    setup = (
        "import json, sys\n"
        "from fastapi.testclient import TestClient\n"
        "from strongroom.app import create_app\n"
        "from strongroom.config import Settings\n"
        "from strongroom.cli.common import migrate\n"
        "from strongroom.runtime import Runtime\n"
        f"settings = Settings(dev_mode=True, data_dir={str(tmp_path)!r})\n"
        "migrate(settings)\n"
        "client = TestClient(create_app(Runtime.build(settings)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", setup + probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_staff_pages_load_at_the_first_page_request_not_at_start(tmp_path: Path) -> None:
    # The staff pages (web/pages/*) are a browser's; an idle server, or one answering the API and
    # WebDAV only, never loads them (issue 14). The first page request loads them and is answered.
    probe = (
        "loaded = lambda: 'strongroom.web.pages.login' in sys.modules\n"
        "seen = [loaded()]\n"
        "seen.append([client.get('/healthz').status_code, loaded()])\n"
        "seen.append([client.get('/api/v1/me').status_code, loaded()])\n"
        "seen.append([client.get('/login').status_code, loaded()])\n"
        "print(json.dumps(seen))"
    )
    assert _with_a_test_client(tmp_path, probe) == [
        False,
        [200, False],
        [401, False],
        [200, True],
    ]


def test_every_staff_page_is_under_a_segment_that_loads_the_pages() -> None:
    import importlib

    from strongroom import web
    from strongroom.lazy_routes import first_segment

    for name in web._PAGE_MODULES:
        module = importlib.import_module(f"strongroom.web.pages.{name}")
        for route in module.router.routes:
            path = getattr(route, "path", "")
            assert first_segment(path, "") in web.PAGE_SEGMENTS, (name, path)


def test_route_modules_and_the_dav_door_load_at_their_first_request_not_at_start(tmp_path: Path) -> None:
    # The /api/v1 route modules, the WebDAV door and the public pages (with Jinja) load at the first
    # request under their paths (strongroom.lazy_routes): 1.1 s of 2.8 s start-up CPU (issue 14).
    probe = (
        "watched = ['strongroom.api.me', 'strongroom.api.accounts', 'strongroom.api.audit',\n"
        "           'strongroom.api.search', 'strongroom.api.files', 'strongroom.dav.app',\n"
        "           'strongroom.web.pages.shared_link', 'jinja2']\n"
        "loaded = lambda: [name for name in watched if name in sys.modules]\n"
        "seen = [client.get('/healthz').status_code, loaded()]\n"
        "seen += [client.get('/api/v1/me').status_code, loaded()]\n"
        "seen += [client.request('PROPFIND', '/dav/').status_code, loaded()]\n"
        "seen += [client.get('/s/no-such-link').status_code, loaded()]\n"
        "print(json.dumps(seen))"
    )
    seen = _with_a_test_client(tmp_path, probe)
    me = ["strongroom.api.me", "strongroom.api.accounts"]
    # /api/v1/me/...: the two modules with routes there, not audit, search or files
    assert seen[:6] == [200, [], 401, me, 401, [*me, "strongroom.dav.app"]]
    assert seen[6] == 404
    assert {"strongroom.web.pages.shared_link", "jinja2"} <= set(seen[7])


def test_serve_does_not_load_a_websocket_library() -> None:
    # No door speaks WebSocket; uvicorn would otherwise import `websockets` (17 modules) at start.
    probe = (
        "import json, sys\n"
        "from fastapi import FastAPI\n"
        "from strongroom.cli.server import uvicorn_config\n"
        "from strongroom.config import ServerSettings\n"
        "uvicorn_config(FastAPI(), ServerSettings()).load()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {name.split(".")[0] for name in json.loads(done.stdout.strip().splitlines()[-1])}
    assert "websockets" not in loaded
    assert "wsproto" not in loaded
