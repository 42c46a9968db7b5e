"""Staff pages: server-rendered HTML that calls the same domain services as the REST API.

Page handlers use `HtmlRoute`, which turns a StrongroomError into a friendly HTML page with the
door's status code instead of the REST door's JSON, and `signed_in()`, which sends a browser without
a session to the sign-in page.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.responses import Response

from strongroom import errors
from strongroom.actors import Actor
from strongroom.api.errors import status_of
from strongroom.identity.models import User
from strongroom.web import csrf
from strongroom.web.templating import render

_T = TypeVar("_T")


class SignInRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeRequired(Exception):
    """An administrator reset this account's password: nothing but choosing a new one until then."""


# What an account that must choose a new password may still open.
PASSWORD_CHANGE_PATHS = frozenset({"/settings", "/settings/password"})


class HtmlRoute(APIRoute):
    """A page route: domain errors become an HTML page, a missing session a redirect to /login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)
            except PasswordChangeRequired:
                return RedirectResponse("/settings#password", status_code=303)
            except errors.StrongroomError as exc:
                status = status_of(exc)
                return render(
                    request,
                    "staff/error.html",
                    status_code=status,
                    title=_ERROR_TITLES.get(status, "Something went wrong"),
                    message=exc.message,
                )

        return page_handler


_ERROR_TITLES = {
    400: "There is a problem with the request",
    403: "You cannot do that",
    404: "Page not found",
    409: "That clashes with something else",
    410: "This is no longer available",
    429: "Too many attempts",
    503: "Sorry, the service is unavailable",
    507: "Sorry, there is no room to store this",
}


def signed_in(request: Request) -> tuple[User, Actor]:
    """The signed-in staff member, or a redirect to the sign-in page that comes back here afterwards
    (or to "Your account" while an administrator's reset password waits to be replaced)."""
    user = getattr(request.state, "web_user", None)
    actor = getattr(request.state, "session_actor", None)
    if not isinstance(user, User) or not isinstance(actor, Actor):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired
    return user, actor


def staff_form(request: Request, csrf_token: str) -> Actor:
    """A signed-in person's form post: who sent it, once the form's CSRF token is checked."""
    _, actor = signed_in(request)
    csrf.require_form_token(request, csrf_token)
    return actor


def signed_in_admin(request: Request) -> Actor:
    """The signed-in organisation administrator; anyone else finds no such page (404)."""
    _, actor = signed_in(request)
    if not actor.is_admin:
        raise errors.NotFound("page", None)
    return actor


def admin_form(request: Request, csrf_token: str) -> Actor:
    """An administrator's form post: the administrator, once the form's CSRF token is checked."""
    actor = signed_in_admin(request)
    csrf.require_form_token(request, csrf_token)
    return actor


async def run_form(
    work: Callable[[], _T], refused: Callable[[errors.StrongroomError], Response]
) -> _T | Response:
    """Run a form's work (blocking database calls) in the threadpool; a refusal becomes the page that
    `refused` renders for it (the form again, with the message and the error's status)."""
    try:
        return await run_in_threadpool(work)
    except errors.StrongroomError as exc:
        return refused(exc)


def safe_next(url: str | None) -> str:
    """Only local paths may be a redirect target after sign-in (no open redirect)."""
    # Browsers drop tabs and newlines inside URLs ("/\t/evil.example" is "//evil.example" to them),
    # so no control character or space is let through either.
    if (
        not url
        or not url.startswith("/")
        or url.startswith("//")
        or "\\" in url
        or not url.isprintable()
        or " " in url
    ):
        return "/files"
    return url
