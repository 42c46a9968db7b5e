"""Your account: profile, active browser sessions and personal access tokens (for WebDAV and scripts)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep
from strongroom.db.session import transaction
from strongroom.identity import tokens
from strongroom.identity.models import WebSession
from strongroom.web.pages import HtmlRoute, signed_in
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


@router.get("/settings")
def settings_page(request: Request, runtime: RuntimeDep) -> Response:
    user, _ = signed_in(request)
    now = runtime.clock.now()
    with transaction(runtime.sessions) as session:
        web_sessions = list(
            session.scalars(
                select(WebSession)
                .where(
                    WebSession.user_id == user.id,
                    WebSession.revoked_at.is_(None),
                    WebSession.expires_at > now,
                )
                .order_by(WebSession.created_at.desc())
            )
        )
        token_rows = tokens.list_tokens(session, user.id)
        return render(
            request,
            "staff/settings.html",
            nav="settings",
            web_sessions=web_sessions,
            this_session=getattr(request.state, "web_session_id", None),
            tokens=token_rows,
            dav_url=f"{runtime.settings.public_url}/dav/",
        )
