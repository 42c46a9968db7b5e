"""The second step of signing in (a code from an authenticator app, a recovery code, or a security key)
and setting up those second factors under "Your account".

Between the password and the second factor the browser holds only a short-lived signed ticket
(`sr_mfa`: the account id and an expiry, HMAC-signed), never a session. Wrong codes count towards
the account's sign-in lockout like wrong passwords. A security key's challenge travels in a signed,
short-lived cookie and is checked by py_webauthn against the site's origin.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from strongroom.api.deps import RuntimeDep, origin_of
from strongroom.db.session import transaction
from strongroom.errors import InputError, RateLimited, Unauthenticated
from strongroom.identity import mfa, sessions
from strongroom.identity.models import User
from strongroom.runtime import Runtime
from strongroom.storage.sealed_values import ValueSealer
from strongroom.web import csrf
from strongroom.web.pages import HtmlRoute, safe_next, signed_in
from strongroom.web.session import is_secure, set_session_cookie, sign
from strongroom.web.templating import render

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

TICKET_COOKIE = "sr_mfa"
CHALLENGE_COOKIE = "sr_mfa_challenge"
TICKET_SECONDS = 300


def relying_party(runtime: Runtime, request: Request) -> mfa.RelyingParty:
    """The configured public address; without one (a development server), the address in use."""
    origin = runtime.settings.server.public_url or str(request.base_url)
    origin = origin.rstrip("/")
    host = origin.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return mfa.RelyingParty(rp_id=host, origin=origin)


def _set(response: Response, runtime: Runtime, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=TICKET_SECONDS,
        path="/",
        secure=is_secure(runtime),
        httponly=True,
        samesite="strict",
    )


def _sealed(runtime: Runtime, purpose: str, value: str) -> str:
    body = f"{value}|{int(time.time()) + TICKET_SECONDS}|{secrets.token_urlsafe(8)}"
    return f"{body}|{sign(runtime, purpose, body)}"


def _opened(runtime: Runtime, purpose: str, sealed: str | None) -> str | None:
    if not sealed or len(sealed) > 500:
        return None
    body, _, mac = sealed.rpartition("|")
    parts = body.split("|")
    if len(parts) != 3 or not csrf.tokens_match(sign(runtime, purpose, body), mac):
        return None
    if not parts[1].isdigit() or int(parts[1]) < time.time():
        return None
    return parts[0]


def begin_second_step(runtime: Runtime, user_id: str, next_url: str) -> Response:
    """After a right password: send the browser to the second step with a ticket (no session yet)."""
    response = RedirectResponse(f"/login/mfa?next={quote(next_url, safe='/')}", status_code=303)
    _set(response, runtime, TICKET_COOKIE, _sealed(runtime, "mfa-ticket", user_id))
    return response


def _ticket_user(runtime: Runtime, request: Request) -> str:
    user_id = _opened(runtime, "mfa-ticket", request.cookies.get(TICKET_COOKIE))
    if user_id is None:
        raise Unauthenticated("Your sign-in took too long or did not start here. Sign in again.")
    return user_id


def _page(
    request: Request, runtime: Runtime, *, status_code: int = 200, error: str | None = None
) -> Response:
    with transaction(runtime.sessions) as session:
        user = session.get(User, _ticket_user(runtime, request))
        has_keys = bool(user is not None and mfa.security_keys(session, user.id))
    return render(
        request,
        "staff/login_mfa.html",
        status_code=status_code,
        user=None,
        error=error,
        has_keys=has_keys,
        next_url=safe_next(request.query_params.get("next")),
    )


@router.get("/login/mfa")
def second_step_page(request: Request, runtime: RuntimeDep) -> Response:
    try:
        return _page(request, runtime)
    except Unauthenticated:
        return RedirectResponse("/login", status_code=303)


def _finish(runtime: Runtime, request: Request, check: Any, next_url: str) -> Response:
    """Run `check(session, user)`; on success open the session, on failure count it towards lockout."""
    origin = origin_of(request)
    policy = sessions.SessionPolicy.of(runtime.settings.accounts)
    user_id = _ticket_user(runtime, request)

    def attempt() -> sessions.SignedIn:
        with transaction(runtime.sessions) as session:
            user = session.get(User, user_id)
            if user is None:
                raise Unauthenticated("Sign in again.")
            sessions.check_throttle(
                session, email=user.email, origin=origin, clock=runtime.clock, policy=policy
            )
            method = check(session, user)
            return sessions.open_session(
                session, user, origin=origin, clock=runtime.clock, policy=policy, method=f"password+{method}"
            )

    try:
        signed = attempt()
    except (Unauthenticated, RateLimited) as exc:
        with transaction(runtime.sessions) as session:
            user = session.get(User, user_id)
            email = user.email if user is not None else user_id
            sessions.record_failure(
                session, email=email, origin=origin, clock=runtime.clock, reason="bad_second_factor"
            )
        raise exc from None
    response = RedirectResponse(next_url, status_code=303)
    assert signed.cookie_token is not None
    set_session_cookie(response, runtime, signed.cookie_token)
    response.delete_cookie(TICKET_COOKIE, path="/")
    response.delete_cookie(CHALLENGE_COOKIE, path="/")
    return response


@router.post("/login/mfa")
async def second_step(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/files",  # noqa: A002
) -> Response:
    """A code from the authenticator app, or a recovery code."""
    next_url = safe_next(next)

    def check(session: Any, user: User) -> str:
        return mfa.check_code(session, user, code=code, sealer=ValueSealer(runtime.keys), clock=runtime.clock)

    try:
        return await run_in_threadpool(_finish, runtime, request, check, next_url)
    except RateLimited as exc:
        return _page(request, runtime, status_code=429, error=exc.message)
    except Unauthenticated as exc:
        try:
            return _page(request, runtime, status_code=401, error=exc.message)
        except Unauthenticated:
            return RedirectResponse("/login", status_code=303)


@router.post("/login/mfa/key/options")
def key_options(request: Request, runtime: RuntimeDep) -> Response:
    """Options for navigator.credentials.get(), for the ticket's account."""
    user_id = _ticket_user(runtime, request)
    with transaction(runtime.sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise Unauthenticated("Sign in again.")
        options, challenge = mfa.authentication_options(session, user, relying_party(runtime, request))
    response = Response(options, media_type="application/json")
    _set(response, runtime, CHALLENGE_COOKIE, _sealed(runtime, "mfa-get", _b64(challenge)))
    return response


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@router.post("/login/mfa/key")
async def key_answer(request: Request, runtime: RuntimeDep) -> Response:
    """The security key's signed answer (JSON); answers JSON with where to go next."""
    credential = (await request.body()).decode(errors="replace")
    challenge = _opened(runtime, "mfa-get", request.cookies.get(CHALLENGE_COOKIE))
    if challenge is None:
        return JSONResponse(
            {"code": "unauthenticated", "message": "Try the security key again."}, status_code=401
        )
    rp = relying_party(runtime, request)
    next_url = safe_next(request.query_params.get("next"))

    def check(session: Any, user: User) -> str:
        mfa.check_key(
            session, user, credential=credential, challenge=_unb64(challenge), rp=rp, clock=runtime.clock
        )
        return "security_key"

    try:
        done = await run_in_threadpool(_finish, runtime, request, check, next_url)
    except (Unauthenticated, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=status)
    answer = JSONResponse({"next": next_url})
    for key, value in done.headers.items():
        if key == "set-cookie":
            answer.headers.append(key, value)
    return answer


# -- setting up second factors ("Your account") ------------------------------------------------


def _settings_page(request: Request, runtime: Runtime, *, status_code: int = 200, **extra: Any) -> Response:
    user, _ = signed_in(request)
    with transaction(runtime.sessions) as session:
        keys = mfa.security_keys(session, user.id)
        enrolled = mfa.has_second_factor(session, user.id)
        context: dict[str, Any] = {
            "nav": "settings",
            "keys": keys,
            "enrolled": enrolled,
            "totp_on": mfa.totp_on(session, user.id),
            "totp_uri": None,
            "totp_secret": None,
            "recovery_codes": None,
            "error": None,
            **extra,
        }
    page = render(request, "staff/settings_mfa.html", status_code=status_code, **context)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/settings/mfa")
def mfa_settings(request: Request, runtime: RuntimeDep) -> Response:
    return _settings_page(request, runtime)


@router.post("/settings/mfa/totp")
def totp_begin(
    request: Request, runtime: RuntimeDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Start setting up an authenticator app: show its secret (and otpauth:// address) once."""
    user, _ = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    with transaction(runtime.sessions) as session:
        fresh = session.get(User, user.id)
        assert fresh is not None
        uri = mfa.begin_totp(session, fresh, sealer=ValueSealer(runtime.keys), clock=runtime.clock)
    secret = uri.split("secret=", 1)[1].split("&", 1)[0]
    return _settings_page(request, runtime, totp_uri=uri, totp_secret=secret)


@router.post("/settings/mfa/totp/confirm")
def totp_confirm(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Form(max_length=20)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Finish with a first code; the recovery codes are shown once."""
    user, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    try:
        with transaction(runtime.sessions) as session:
            fresh = session.get(User, user.id)
            assert fresh is not None
            codes = mfa.confirm_totp(
                session, actor, fresh, code=code, sealer=ValueSealer(runtime.keys), clock=runtime.clock
            )
    except InputError as exc:
        return _settings_page(request, runtime, status_code=400, error=exc.message)
    return _settings_page(request, runtime, recovery_codes=codes)


@router.post("/settings/mfa/keys/options")
def key_register_options(request: Request, runtime: RuntimeDep) -> Response:
    """Options for navigator.credentials.create() (fetch with the session's X-CSRF-Token)."""
    user, _ = signed_in(request)
    with transaction(runtime.sessions) as session:
        options, challenge = mfa.registration_options(session, user, relying_party(runtime, request))
    response = Response(options, media_type="application/json")
    _set(response, runtime, CHALLENGE_COOKIE, _sealed(runtime, "mfa-create", _b64(challenge)))
    return response


@router.post("/settings/mfa/keys")
async def key_register(request: Request, runtime: RuntimeDep) -> Response:
    """Keep the new security key (the browser's attestation, as JSON; `?name=` labels it)."""
    user, actor = signed_in(request)
    credential = (await request.body()).decode(errors="replace")
    challenge = _opened(runtime, "mfa-create", request.cookies.get(CHALLENGE_COOKIE))
    if challenge is None:
        return JSONResponse({"code": "bad_input", "message": "Try adding the key again."}, status_code=400)
    rp = relying_party(runtime, request)
    name = request.query_params.get("name", "")[:200]

    def register() -> str:
        with transaction(runtime.sessions) as session:
            fresh = session.get(User, user.id)
            assert fresh is not None
            key = mfa.register_key(
                session,
                actor,
                fresh,
                credential=credential,
                challenge=_unb64(challenge),
                rp=rp,
                name=name,
                clock=runtime.clock,
            )
            return key.id

    try:
        key_id = await run_in_threadpool(register)
    except InputError as exc:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=400)
    answer = JSONResponse({"id": key_id}, status_code=201)
    answer.delete_cookie(CHALLENGE_COOKIE, path="/")
    return answer


@router.post("/settings/mfa/totp/remove")
def totp_remove(
    request: Request, runtime: RuntimeDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Turn the authenticator app off (its recovery codes go with it)."""
    user, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    with transaction(runtime.sessions) as session:
        fresh = session.get(User, user.id)
        assert fresh is not None
        mfa.remove_totp(session, actor, fresh, clock=runtime.clock)
    return RedirectResponse("/settings/mfa", status_code=303)


@router.post("/settings/mfa/keys/{key_id}/remove")
def key_remove(
    request: Request, key_id: str, runtime: RuntimeDep, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Remove one of your security keys (lost, or replaced)."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    with transaction(runtime.sessions) as session:
        mfa.remove_key(session, actor, key_id=key_id, clock=runtime.clock)
    return RedirectResponse("/settings/mfa", status_code=303)
