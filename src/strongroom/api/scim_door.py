"""The SCIM 2.0 door's route (/scim/v2): its handling (api.scim, with scim2-models and scim2-server, about
7 MiB and a good part of start-up) is imported by the first SCIM request, not by every server at start
(issue 14). A server whose force provisions by SCIM pays it once; others never."""

from fastapi import APIRouter, Request, Response

PREFIX = "/scim/v2"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

router = APIRouter(include_in_schema=False)


@router.api_route(PREFIX, methods=METHODS)
@router.api_route(PREFIX + "/{path:path}", methods=METHODS)
async def scim(request: Request) -> Response:
    from strongroom.api import scim  # on first use, see the docstring

    return await scim.answer(request)
