"""Sign-in and sign-out for local accounts (and the SSO button when single sign-on is configured)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep, origin_of
from strongroom.db.session import transaction
from strongroom.errors import RateLimited, Unauthenticated
from strongroom.identity import sessions
from strongroom.runtime import Runtime
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, safe_next
from strongroom.web.pages import mfa as mfa_pages
from strongroom.web.session import clear_session_cookie, set_session_cookie
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)


def _sso_buttons(runtime: Runtime) -> list[dict[str, str]]:
    """One button per configured single sign-on; both protocols name the force's account alike
    unless both are on, when the second says which it is."""
    sso = runtime.settings.sso
    buttons = []
    if sso.oidc is not None:
        buttons.append({"href": "/auth/oidc/start", "label": sso.label})
    if sso.saml is not None:
        label = f"{sso.label} (SAML)" if buttons else sso.label
        buttons.append({"href": "/auth/saml/start", "label": label})
    return buttons


def _login_page(
    request: Request,
    runtime: Runtime,
    *,
    status_code: int = 200,
    error: str | None = None,
    email: str = "",
    next_url: str = "/files",
    notice: str | None = None,
) -> HTMLResponse:
    # The token may need a fresh nonce cookie, so it is made before the page that shows it.
    carrier = Response()
    token = csrf.login_token(runtime, request, carrier)
    page = render(
        request,
        "staff/login.html",
        status_code=status_code,
        user=None,
        error=error,
        email=email,
        next_url=next_url,
        notice=notice,
        sso_buttons=_sso_buttons(runtime),
        login_csrf=token,
    )
    for key, value in carrier.headers.items():
        if key == "set-cookie":
            page.headers.append(key, value)
    return page


@router.get("/")
def home(request: Request) -> Response:
    signed = getattr(request.state, "web_user", None) is not None
    return RedirectResponse("/files" if signed else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:  # noqa: A002
    if getattr(request.state, "web_user", None) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = "You have signed out." if request.query_params.get("signed_out") else None
    return _login_page(request, runtime, next_url=safe_next(next), notice=notice)


@router.post("/login")
async def login(
    request: Request,
    runtime: RuntimeDep,
    *,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/files",  # noqa: A002
) -> Response:
    """Check the password, open a session, and go where the user was heading."""
    next_url = safe_next(next)
    try:
        csrf.require_login_token(runtime, request, csrf_token)
    except csrf.CsrfFailed as exc:
        return _login_page(
            request, runtime, status_code=403, error=exc.message, email=email, next_url=next_url
        )
    if not email.strip() or not password:
        return _login_page(
            request,
            runtime,
            status_code=400,
            error="Enter your e-mail address and your password.",
            email=email,
            next_url=next_url,
        )
    origin = origin_of(request)

    def attempt() -> sessions.SignedIn:
        with transaction(runtime.sessions) as session:
            return sessions.sign_in(
                session,
                email=email,
                password=password,
                origin=origin,
                clock=runtime.clock,
                policy=sessions.SessionPolicy.of(runtime.settings.accounts),
            )

    def record_failure(reason: str) -> None:
        with transaction(runtime.sessions) as session:
            sessions.record_failure(session, email=email, origin=origin, clock=runtime.clock, reason=reason)

    try:
        signed_in = await run_in_threadpool(attempt)
    except RateLimited as exc:
        await run_in_threadpool(record_failure, "throttled")
        page = _login_page(
            request, runtime, status_code=429, error=exc.message, email=email, next_url=next_url
        )
        page.headers["Retry-After"] = str(exc.data.get("retry_after", 900))
        return page
    except sessions.SecondFactorRequired as needed:
        response = mfa_pages.begin_second_step(runtime, needed.user_id, next_url)
        response.delete_cookie(csrf.LOGIN_NONCE_COOKIE, path="/")
        return response
    except Unauthenticated as exc:
        await run_in_threadpool(record_failure, "bad_credentials")
        return _login_page(
            request, runtime, status_code=401, error=exc.message, email=email, next_url=next_url
        )
    response = RedirectResponse(next_url, status_code=303)
    assert signed_in.cookie_token is not None
    set_session_cookie(response, runtime, signed_in.cookie_token)
    response.delete_cookie(csrf.LOGIN_NONCE_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(
    request: Request,
    runtime: RuntimeDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End this browser's session at once (the row is revoked, not only the cookie dropped)."""
    session_id = getattr(request.state, "web_session_id", None)
    target = "/login?signed_out=1"
    if session_id is not None:
        csrf.require_form_token(request, csrf_token)

        def end() -> str | None:
            with transaction(runtime.sessions) as session:
                sessions.sign_out(session, session_id=session_id, clock=runtime.clock)
                return sso_logout_target(request, runtime, session, session_id=session_id)

        ended: str | None = await run_in_threadpool(end)
        target = ended or target
    response = RedirectResponse(target, status_code=303)
    clear_session_cookie(response, runtime)
    return response


@router.get("/accessibility", response_class=HTMLResponse)
def accessibility_statement(request: Request) -> Response:
    """The accessibility statement every page links to; public, like the sign-in page."""
    return render(request, "staff/accessibility.html")


def sso_logout_target(request: Request, runtime: Runtime, session: Session, *, session_id: str) -> str | None:
    """Where a browser signed in by OIDC goes to sign out at the provider as well (RP-initiated logout)."""
    if runtime.settings.sso.oidc is None:
        return None
    from strongroom.identity import sso
    from strongroom.web.pages.sso import oidc_client

    started = sso.finished_request_of(session, session_id=session_id)
    if started is None or started.protocol != "oidc":
        return None
    after = f"{runtime.settings.public_url}/login?signed_out=1"
    url = oidc_client(request, runtime).logout_url(id_token=started.id_token, after=after)
    return f"/auth/oidc/logout?{urlencode({'to': url})}" if url else None
