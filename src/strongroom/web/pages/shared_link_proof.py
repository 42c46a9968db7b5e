"""Proving who you are to a shared link: its password, and a one-time code mailed to a recipient.

The code is a two-step page: GET only shows the form, only POST uses the code, so a mail scanner
following links cannot burn it. Each HTML form has a JSON twin under `/s/<token>/api`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from strongroom import errors
from strongroom.runtime import Runtime
from strongroom.sharing import link_proofs
from strongroom.sharing.link_visits import Visit
from strongroom.sharing.models import SharedLink
from strongroom.web.pages.shared_link_door import (
    error_json,
    error_page,
    in_link,
    mask_email,
    page,
    password_mark,
    read_visit_cookie,
    runtime_of,
    secure,
    steps_of,
    write_visit_cookie,
)

router = APIRouter(include_in_schema=False)


@router.post("/s/{token}/password", response_class=HTMLResponse)
def password_form(
    token: str, request: Request, password: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    runtime = runtime_of(request)
    base = f"/s/{token}"
    try:
        ok, mark, data, steps = _check_password(runtime, request, token, password)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    if not ok:
        return page(
            request,
            "password.html",
            status_code=401,
            title="Password",
            base=base,
            steps=steps,
            error="That password is not right. Check it with the person who sent you the link.",
        )
    response = secure(RedirectResponse(base, status_code=303))
    write_visit_cookie(runtime, response, token, {**data, "p": mark})
    return response


def _check_password(
    runtime: Runtime, request: Request, token: str, password: str
) -> tuple[bool, str, dict[str, Any], list[str]]:
    def work(session: Any, link: SharedLink, visit: Visit) -> tuple[bool, str, dict[str, Any], list[str]]:
        ok = link_proofs.check_password(
            session, link, visit, password=password, settings=runtime.settings.sharing, clock=runtime.clock
        )
        data = read_visit_cookie(runtime, request, link) or {"l": link.id}
        return ok, password_mark(link), data, steps_of(link)

    return in_link(runtime, request, token, work)  # type: ignore[no-any-return]


def _send_code(runtime: Runtime, request: Request, token: str, email: str) -> None:
    def work(session: Any, link: SharedLink, visit: Visit) -> None:
        link_proofs.send_code(
            session,
            link,
            visit,
            email=email,
            link_url=f"{runtime.settings.public_url}/s/{token}",
            settings=runtime.settings.sharing,
            mail=runtime.settings.mail,
            clock=runtime.clock,
        )

    in_link(runtime, request, token, work)


def _verify_code(
    runtime: Runtime, request: Request, token: str, email: str, code: str
) -> dict[str, Any] | None:
    """The visit cookie's data once `code` proves `email`, else None."""

    def work(session: Any, link: SharedLink, visit: Visit) -> dict[str, Any] | None:
        proved = link_proofs.verify_code(
            session,
            link,
            visit,
            email=email,
            code=code,
            settings=runtime.settings.sharing,
            clock=runtime.clock,
        )
        if proved is None:
            return None
        data = read_visit_cookie(runtime, request, link) or {"l": link.id}
        return {**data, "e": proved}

    return in_link(runtime, request, token, work)  # type: ignore[no-any-return]


@router.post("/s/{token}/email", response_class=HTMLResponse)
def email_form(token: str, request: Request, email: Annotated[str, Form(max_length=320)] = "") -> Response:
    runtime = runtime_of(request)
    try:
        _send_code(runtime, request, token, email)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    from urllib.parse import quote

    # The e-mail travels in the query of our own page only (no-referrer keeps it here).
    return secure(RedirectResponse(f"/s/{token}/code?email={quote(email.strip())}", status_code=303))


@router.get("/s/{token}/code", response_class=HTMLResponse)
def code_page(token: str, request: Request, email: str = "") -> Response:
    """Step one of two: only shows the form. Fetching this page (as a mail scanner might) uses nothing."""
    runtime = runtime_of(request)
    try:
        steps = in_link(runtime, request, token, lambda _s, link, _v: steps_of(link))
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    return code_form_page(request, token, email=email[:320], steps=steps)


def code_form_page(
    request: Request, token: str, *, email: str, steps: list[str], error: str | None = None
) -> Response:
    return page(
        request,
        "code.html",
        status_code=401 if error else 200,
        title="Enter your code",
        base=f"/s/{token}",
        email=email,
        masked_email=mask_email(email),
        steps=steps,
        error=error,
    )


@router.post("/s/{token}/code", response_class=HTMLResponse)
def code_form(
    token: str,
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    code: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Step two: the code is checked and used up only here."""
    runtime = runtime_of(request)
    try:
        data = _verify_code(runtime, request, token, email, code)
    except errors.StrongroomError as exc:
        return error_page(request, exc)
    if data is None:
        try:
            steps = in_link(runtime, request, token, lambda _s, link, _v: steps_of(link))
        except errors.StrongroomError as exc:
            return error_page(request, exc)
        return code_form_page(
            request,
            token,
            email=email,
            steps=steps,
            error="That code is not right, or it has expired. Try again, or ask for a new one.",
        )
    response = secure(RedirectResponse(f"/s/{token}", status_code=303))
    write_visit_cookie(runtime, response, token, data)
    return response


# --- JSON twins for scripts and tests -----------------------------------------------------------


class PasswordBody(BaseModel):
    password: str = Field(max_length=200)


class EmailBody(BaseModel):
    email: str = Field(max_length=320)


class CodeBody(BaseModel):
    email: str = Field(max_length=320)
    code: str = Field(max_length=20)


@router.post("/s/{token}/api/password")
def api_password(token: str, body: PasswordBody, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        ok, mark, data, _ = _check_password(runtime, request, token, body.password)
        if not ok:
            raise errors.Unauthenticated("That password is not right.", step="password")
    except errors.StrongroomError as exc:
        return error_json(exc)
    response = secure(Response(status_code=204))
    write_visit_cookie(runtime, response, token, {**data, "p": mark})
    return response


@router.post("/s/{token}/api/code-request")
def api_code_request(token: str, body: EmailBody, request: Request) -> Response:
    """Mail a code if the address is a recipient; the answer is the same either way."""
    runtime = runtime_of(request)
    try:
        _send_code(runtime, request, token, body.email)
    except errors.StrongroomError as exc:
        return error_json(exc)
    return secure(
        JSONResponse({"message": "If this address may open the link, a code is on its way."}, status_code=202)
    )


@router.post("/s/{token}/api/code")
def api_code(token: str, body: CodeBody, request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        data = _verify_code(runtime, request, token, body.email, body.code)
        if data is None:
            raise errors.Unauthenticated("That code is not right, or it has expired.", step="email")
    except errors.StrongroomError as exc:
        return error_json(exc)
    response = secure(Response(status_code=204))
    write_visit_cookie(runtime, response, token, data)
    return response
