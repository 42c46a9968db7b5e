"""Everyone who uses the server over the network can take its source (AGPL-3.0 §13), offline too."""

import io
import tarfile

from fastapi.testclient import TestClient


def test_every_page_links_to_the_source_and_the_link_hands_out_the_running_code(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'href="/source"' in page.text

    response = client.get("/source")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        names = set(archive.getnames())
        running = archive.extractfile("strongroom/src/strongroom/web/pages/source.py")
        assert running is not None
        assert b"AGPL-3.0" in running.read()
    assert "strongroom/LICENSE" in names
    assert "strongroom/src/strongroom/__init__.py" in names
    assert not any("__pycache__" in name for name in names)
