"""Nothing a page loads comes from another origin: police networks are often offline, and a CDN would
learn who reads what. Every HTML page reachable from every parameterless GET route (signed in as an
admin, plus a shared link's and an upload request's pages) is crawled, every URL in it is checked,
every /static asset it names must be served here, and the CSP names no host."""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urldefrag, urlsplit

from fastapi.testclient import TestClient

from strongroom.config import Settings
from tests.support.users import UserFixture
from tests.web.test_pages import sign_in

URL_ATTRIBUTE = re.compile(
    r'\b(?:href|src|action|formaction|poster|srcset|data)\s*=\s*"([^"]*)"', re.IGNORECASE
)
ABSOLUTE = re.compile(r"""["'(](?:https?:)?//[^"'\s)]+""", re.IGNORECASE)
CSP_SOURCES = {"'self'", "'none'", "blob:", "data:"}
NOT_FOLLOWED = ("/logout", "/api/v1/openapi.json")


# The top-level pages; everything else is found by following their links.
SEEDS = ("/", "/login", "/files", "/trash", "/settings", "/admin", "/accessibility", "/api/v1/docs")


def own_origins(settings: Settings) -> set[str]:
    return {"", "testserver", urlsplit(settings.public_url).netloc}


def test_no_page_loads_anything_from_another_origin(
    client: TestClient, settings: Settings, alice: UserFixture
) -> None:
    item = client.put(
        f"/api/v1/folders/{alice.root_id}/files/statement.txt", content=b"s", headers=alice.headers
    )
    link = client.post(f"/api/v1/items/{item.json()['id']}/shared-links", json={}, headers=alice.headers)
    request = client.post(
        f"/api/v1/folders/{alice.root_id}/upload-requests", json={"title": "CCTV"}, headers=alice.headers
    )
    external = [urlsplit(link.json()["url"]).path, urlsplit(request.json()["url"]).path]
    sign_in(client, alice.email)

    queue = deque([*SEEDS, *external])
    seen: set[str] = set(queue)
    pages: dict[str, str] = {}
    assets: set[str] = set()
    while queue and len(pages) < 400:
        path = queue.popleft()
        response = client.get(path, follow_redirects=True)
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        pages[path] = response.text
        csp = response.headers.get("content-security-policy", "")
        for directive in filter(None, (part.strip() for part in csp.split(";"))):
            _, *sources = directive.split()
            assert set(sources) <= CSP_SOURCES, f"{path}: CSP {directive!r} names another origin"
        for raw in URL_ATTRIBUTE.findall(response.text):
            for url in (part.strip().split(" ")[0] for part in unescape(raw).split(",")):
                parts = urlsplit(url)
                assert parts.netloc in own_origins(settings), f"{path} refers to {url}"
                if parts.scheme not in {"", "http", "https"} or not parts.path.startswith("/"):
                    continue
                target, _ = urldefrag(parts.path + (f"?{parts.query}" if parts.query else ""))
                if parts.path.startswith("/static/"):
                    assets.add(target)
                elif target not in seen and not target.startswith(NOT_FOLLOWED):
                    seen.add(target)
                    queue.append(target)
        for found in ABSOLUTE.findall(response.text):
            netloc = urlsplit(found[1:]).netloc
            assert netloc in own_origins(settings), f"{path} names {found[1:]}"

    assert "/api/v1/docs" in pages
    assert set(SEEDS) - {"/"} <= set(pages)
    assert len(pages) > len(SEEDS) + 2  # links were followed: folders, items, admin pages
    assert any(path.startswith("/s/") for path in pages)
    assert any(path.startswith("/r/") for path in pages)
    for asset in sorted(assets):
        assert client.get(asset).status_code == 200, f"{asset} is named by a page but not served"
    assert any("vendor/swagger-ui/swagger-ui-bundle.js" in asset for asset in assets)


def test_the_api_docs_start_swagger_ui_without_the_outside_validator(client: TestClient) -> None:
    page = client.get("/api/v1/docs").text
    script = re.search(r'src="(/static/js/api-docs\.js[^"]*)"', page)
    assert script, page
    code = client.get(unescape(script.group(1))).text
    assert "validatorUrl: null" in code
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Strongroom"
