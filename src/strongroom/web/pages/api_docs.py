"""The interactive API documentation at /api/v1/docs, served entirely from this server.

FastAPI's built-in page loads Swagger UI from a public CDN and starts it with an inline script; a
force's network is often offline, and the CSP forbids inline script. This page uses the vendored copy
(static/vendor/swagger-ui, see its README) and a small start-up script of our own.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from strongroom.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    return render(request, "api_docs.html", openapi_url=request.app.openapi_url)
