"""The password step of an upload link (/r/<token>/password): asked before the form when the request
has a password; the browser then carries a proof cookie scoped to that link's path, which every other
/r/<token> route checks through `gate()` (called by the screening route class)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from strongroom import errors
from strongroom.api.deps import origin_of
from strongroom.db.session import transaction
from strongroom.runtime import Runtime
from strongroom.sharing import upload_passwords, upload_requests
from strongroom.web.pages.shared_link_door import error_page, page, runtime_of, secure

PROOF_COOKIE = "sr_upload_password"
PROOF_SECONDS = 12 * 3600  # one working day of sending files
WRONG = "That password is not right. Check it with the person who sent you the link."


def password_page(
    request: Request, token: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    return page(
        request,
        "upload_password.html",
        status_code=status_code,
        title="Password",
        base=f"/r/{token}",
        error=error,
    )


def gate(runtime: Runtime, request: Request, token: str) -> Response | None:
    """None when the visitor may go on; else the password page, or for the JSON API an error.
    Raises NotFound (screened already, so only for a token that stopped working meanwhile)."""
    if request.url.path == f"/r/{token}/password":
        return None
    with transaction(runtime.sessions) as session:
        up = upload_requests.find_request(session, token)
        proof = request.cookies.get(PROOF_COOKIE)
        if upload_passwords.proof_holds(up, proof, secret=runtime.settings.secret_key):
            return None
    if "/api/" in request.url.path:
        raise errors.Unauthenticated("Enter the upload link's password first.", step="password")
    return password_page(request, token, status_code=401)


def register(router_: APIRouter) -> None:
    @router_.post("/r/{token}/password")
    async def enter_password(
        token: str, request: Request, password: Annotated[str, Form(max_length=1024)] = ""
    ) -> Response:
        """Check the password (throttled, recorded); on success set the proof and go to the form."""
        runtime = runtime_of(request)

        def check() -> tuple[bool, str]:
            with transaction(runtime.sessions) as session:
                up = upload_requests.find_live_request(session, token, clock=runtime.clock)
                ok = upload_passwords.check_upload_password(
                    session,
                    up,
                    password=password,
                    origin=origin_of(request),
                    settings=runtime.settings.sharing,
                    clock=runtime.clock,
                )
                return ok, upload_passwords.proof_of(up, secret=runtime.settings.secret_key)

        try:
            ok, proof = await run_in_threadpool(check)
        except errors.RateLimited as exc:
            return password_page(request, token, error=exc.message, status_code=429)
        except errors.StrongroomError as exc:
            return error_page(request, exc)
        if not ok:
            return password_page(request, token, error=WRONG, status_code=401)
        response = secure(RedirectResponse(f"/r/{token}", status_code=303))
        response.set_cookie(
            PROOF_COOKIE,
            proof,
            max_age=PROOF_SECONDS,
            path=f"/r/{token}",
            httponly=True,
            samesite="lax",
            secure=runtime.settings.public_url.startswith("https://"),
        )
        return response
