"""Single sign-on pages: start a sign-in at the force's OIDC provider or SAML IdP, take its answer,
and sign out at the provider too (OIDC RP-initiated logout).

Each answer is handled in two transactions: the first uses up the sign-in in flight (so a replay is
refused even when the rest fails), the second makes or links the account, syncs directory groups and
opens the session. A refusal is audited in a transaction of its own, like a wrong password.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from strongroom.actors import Origin
from strongroom.api.deps import RuntimeDep, origin_of
from strongroom.content import folders as content_folders
from strongroom.db.session import transaction
from strongroom.errors import NotFound, SignInRefused, Unavailable
from strongroom.identity import sessions, sso
from strongroom.identity.models import SsoRequest
from strongroom.runtime import Runtime
from strongroom.web.pages import HtmlRoute, safe_next
from strongroom.web.pages.login import _login_page
from strongroom.web.session import is_secure, set_session_cookie
from strongroom.web.templating import render

if TYPE_CHECKING:
    from collections.abc import Callable

    from strongroom.identity.oidc import OidcClient
    from strongroom.identity.saml import Answer, SamlClient

router = APIRouter(route_class=HtmlRoute, include_in_schema=False)

BROWSER_COOKIE = "sr_sso"
SAML_BROWSER_COOKIE = "__Host-sr_saml"
_NEEDS_HTTPS = (
    "Sign-in with SAML needs Strongroom to be reached over HTTPS: browsers do not keep the cookie that "
    "ties the sign-in to this browser on plain http. Ask your administrator."
)
_NO_COOKIE = (
    "This sign-in cannot be matched to your browser: it was started in another browser, or your browser "
    "did not keep Strongroom's sign-in cookie. Start again from Strongroom's sign-in page."
)
_MISSING_EXTRA = "Single sign-on is configured but not installed: pip install 'strongroom[sso]'."


def oidc_client(request: Request, runtime: Runtime) -> OidcClient:
    """This app's OIDC client (metadata and keys cached in it). Raises NotFound when not configured."""
    settings = runtime.settings.sso.oidc
    if settings is None:
        raise NotFound("page", None)
    client: OidcClient | None = getattr(request.app.state, "oidc_client", None)
    if client is None:
        try:
            from strongroom.identity.oidc import OidcClient  # authlib and joserfc load only where used
        except ImportError as exc:
            raise Unavailable(_MISSING_EXTRA) from exc

        client = OidcClient(settings, redirect_uri=f"{runtime.settings.public_url}/auth/oidc/callback")
        request.app.state.oidc_client = client
    return client


def saml_client(request: Request, runtime: Runtime) -> SamlClient:
    """This app's SAML client (IdP metadata parsed once). Raises NotFound when not configured."""
    settings = runtime.settings.sso.saml
    if settings is None:
        raise NotFound("page", None)
    client: SamlClient | None = getattr(request.app.state, "saml_client", None)
    if client is None:
        try:
            from strongroom.identity.saml import SamlClient  # pysaml2 loads only where used
        except ImportError as exc:
            raise Unavailable(_MISSING_EXTRA) from exc

        client = SamlClient(settings, public_url=runtime.settings.public_url)
        request.app.state.saml_client = client
    return client


def _lifetime(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.sso.request_lifetime_seconds)


@router.get("/auth/oidc/start")
async def oidc_start(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:  # noqa: A002
    """Send the browser to the provider with a fresh state, nonce and PKCE challenge."""
    client = oidc_client(request, runtime)
    started = await run_in_threadpool(client.start)
    binding = secrets.token_urlsafe(32)

    def remember() -> None:
        with transaction(runtime.sessions) as session:
            sso.start(
                session,
                protocol="oidc",
                request_id=started.state,
                next_url=safe_next(next),
                browser_token=binding,
                clock=runtime.clock,
                lifetime=_lifetime(runtime),
                nonce=started.nonce,
                code_verifier=started.code_verifier,
            )

    await run_in_threadpool(remember)
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        BROWSER_COOKIE,
        binding,
        max_age=runtime.settings.sso.request_lifetime_seconds,
        path="/auth/",
        secure=is_secure(runtime),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax cookies come with it
    )
    return response


@router.get("/auth/oidc/callback")
async def oidc_callback(request: Request, runtime: RuntimeDep) -> Response:
    """The provider's answer: check it all, then sign in (identity.oidc lists the checks)."""
    client = oidc_client(request, runtime)
    params = request.query_params
    state, code = params.get("state", ""), params.get("code", "")
    binding = request.cookies.get(BROWSER_COOKIE)
    origin = origin_of(request)

    def consume() -> tuple[str, str, str]:
        with transaction(runtime.sessions) as session:
            row = sso.finish(
                session, protocol="oidc", request_id=state, browser_token=binding, clock=runtime.clock
            )
            return row.nonce or "", row.code_verifier or "", row.next_url

    def complete() -> tuple[str, str]:
        nonce, verifier, next_url = consume()
        if params.get("error") or not code:
            raise SignInRefused(
                "The sign-in was cancelled or refused at the provider.", reason="provider_error"
            )
        token = client.exchange(code=code, code_verifier=verifier)
        claims = client.verify_id_token(
            str(token.get("id_token") or ""), nonce=nonce, now=runtime.clock.now().timestamp()
        )
        profile = client.profile(claims, client.userinfo(str(token.get("access_token") or "")))
        cookie = _sign_in(runtime, profile, origin=origin, request_id=state, id_token=str(token["id_token"]))
        return cookie, next_url

    return await _finish(request, runtime, complete, protocol="oidc")


@router.get("/auth/oidc/logout")
def oidc_logout(request: Request, runtime: RuntimeDep, to: str = "") -> Response:
    """A hop to the provider's sign-out page. Sent as a page, not a redirect: the sign-out form's
    CSP (form-action 'self') would stop a redirect to another origin after a form post."""
    client = oidc_client(request, runtime)
    end_session = client.metadata().end_session_endpoint
    if not end_session or not _same_endpoint(to, end_session):
        return RedirectResponse("/login?signed_out=1", status_code=303)
    return render(request, "staff/sso_signout.html", user=None, provider_url=to)


def _same_endpoint(url: str, endpoint: str) -> bool:
    """`url` is the endpoint itself (any query): a prefix match would let "<endpoint>/../x" or a longer
    host name through, a hop to anywhere on (or beside) the provider."""
    target, expected = urlsplit(url), urlsplit(endpoint)
    return (target.scheme, target.netloc, target.path) == (expected.scheme, expected.netloc, expected.path)


@router.get("/auth/saml/start")
async def saml_start(request: Request, runtime: RuntimeDep, next: str | None = None) -> Response:  # noqa: A002
    """Send the browser to the IdP with a signed-answer-required AuthnRequest, and give the browser a
    cookie that the answer must come back with (login CSRF: an answer to a sign-in started in another
    browser, an attacker's, cannot sign this one in)."""
    client = saml_client(request, runtime)
    if not _saml_cookie_kept(runtime):
        raise Unavailable(_NEEDS_HTTPS)
    relay = secrets.token_urlsafe(16)  # opaque: where to go afterwards is kept here, never in RelayState
    started = await run_in_threadpool(client.start, relay_state=relay)
    binding = secrets.token_urlsafe(32)

    def remember() -> None:
        with transaction(runtime.sessions) as session:
            sso.start(
                session,
                protocol="saml",
                request_id=started.request_id,
                next_url=safe_next(next),
                browser_token=binding,
                clock=runtime.clock,
                lifetime=_lifetime(runtime),
            )

    await run_in_threadpool(remember)
    response = RedirectResponse(started.url, status_code=303)
    # The IdP answers with a cross-site form POST: only a SameSite=None cookie comes with it, and
    # browsers keep such a cookie only when it is Secure (https, or http to localhost/127.0.0.1).
    # `__Host-` stops a sibling subdomain from planting its own. docs/ops/single-sign-on.md.
    response.set_cookie(
        SAML_BROWSER_COOKIE,
        binding,
        max_age=runtime.settings.sso.request_lifetime_seconds,
        path="/",
        secure=True,
        httponly=True,
        samesite="none",
    )
    return response


@router.post("/auth/saml/acs")
async def saml_acs(
    request: Request,
    runtime: RuntimeDep,
    saml_response: Annotated[str, Form(alias="SAMLResponse", max_length=400_000)] = "",
) -> Response:
    """The IdP's signed answer (HTTP-POST binding), accepted only from the browser that started the
    sign-in (its cookie), once. RelayState is ignored: the next page comes from the request this server
    remembered, so a forged RelayState cannot redirect anywhere."""
    client = saml_client(request, runtime)
    origin = origin_of(request)
    binding = request.cookies.get(SAML_BROWSER_COOKIE)
    unsolicited_allowed = client.settings.allow_idp_initiated

    def complete() -> tuple[str, str]:
        request_id = client.answered_request(saml_response)
        if not request_id:
            if not unsolicited_allowed:
                raise SignInRefused(
                    "Sign-ins must be started from Strongroom's sign-in page. Start again there.",
                    reason="unsolicited",
                )
            next_url = "/files"  # IdP-initiated (allowed by setting): no request, so no page to go back to
        else:
            if not binding:
                raise SignInRefused(_NO_COOKIE, reason="no_browser_cookie")
            with transaction(runtime.sessions) as session:
                row = sso.finish(
                    session,
                    protocol="saml",
                    request_id=request_id,
                    browser_token=binding,
                    clock=runtime.clock,
                )
                next_url = row.next_url
        answer = client.answer(saml_response, request_id=request_id)
        cookie = _sign_in(runtime, answer.profile, origin=origin, request_id=request_id, replay=answer)
        return cookie, next_url

    return await _finish(request, runtime, complete, protocol="saml")


def _saml_cookie_kept(runtime: Runtime) -> bool:
    """Whether browsers keep a Secure cookie from this server: over https, or plain http to loopback."""
    url = urlsplit(runtime.settings.public_url)
    return url.scheme == "https" or (url.hostname or "") in {"localhost", "127.0.0.1", "::1"}


@router.get("/auth/saml/metadata")
def saml_metadata(request: Request, runtime: RuntimeDep) -> Response:
    """Strongroom's SP metadata, for the IdP's administrator to import."""
    client = saml_client(request, runtime)
    return Response(client.metadata_xml(), media_type="application/samlmetadata+xml")


def _sign_in(
    runtime: Runtime,
    profile: sso.SsoProfile,
    *,
    origin: Origin,
    request_id: str,
    id_token: str | None = None,
    replay: Answer | None = None,
) -> str:
    settings = runtime.settings.sso
    provider = settings.oidc if profile.protocol == "oidc" else settings.saml
    trust_email = bool(provider and provider.trust_email)
    with transaction(runtime.sessions) as session:
        if replay is not None:
            sso.remember_assertion(
                session,
                assertion_id=replay.assertion_id,
                expires_at=replay.expires_at,
                clock=runtime.clock,
            )
        user, _ = sso.account_for(session, profile, trust_email=trust_email, clock=runtime.clock)
        if user.root_folder_id is None:
            content_folders.create_root_folder(session, user, clock=runtime.clock)
        sso.sync_groups(
            session, user=user, names=profile.groups, source=profile.protocol, clock=runtime.clock
        )
        signed_in = sessions.open_session(
            session,
            user,
            origin=origin,
            clock=runtime.clock,
            policy=sessions.SessionPolicy.of(runtime.settings.accounts),
            method=profile.protocol,
        )
        row = session.get(SsoRequest, request_id)
        if row is not None:
            row.session_id = signed_in.session_id
            row.id_token = id_token
        assert signed_in.cookie_token is not None
        return signed_in.cookie_token


async def _finish(
    request: Request, runtime: Runtime, complete: Callable[[], tuple[str, str]], *, protocol: str
) -> Response:
    origin = origin_of(request)
    try:
        cookie, next_url = await run_in_threadpool(complete)
    except SignInRefused as exc:
        reason = str(exc.data.get("reason", "refused"))

        def record() -> None:
            with transaction(runtime.sessions) as session:
                sso.record_refusal(
                    session, protocol=protocol, reason=reason, label=None, origin=origin, clock=runtime.clock
                )

        await run_in_threadpool(record)
        page: HTMLResponse = _login_page(request, runtime, status_code=401, error=exc.message)
        _forget_browser(page)
        return page
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(response, runtime, cookie)
    _forget_browser(response)
    return response


def _forget_browser(response: Response) -> None:
    """The sign-in cookies are single use: gone after any answer, accepted or refused."""
    response.delete_cookie(BROWSER_COOKIE, path="/auth/")
    response.delete_cookie(SAML_BROWSER_COOKIE, path="/", secure=True, httponly=True, samesite="none")
