"""REST door under /api/v1: router assembly and OpenAPI metadata."""

from fastapi import APIRouter

from strongroom.api import (
    accounts,
    audit,
    classification,
    collaborations,
    custody,
    files,
    folders,
    groups,
    me,
    metadata,
    openapi_doc,
    previews,
    problem_types,
    search,
    shared_links,
    skills,
    trash,
    tus,
    upload_requests,
    versions,
    zips,
)

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {"description": "Bad input: {code, message}"},
    401: {"description": "Not signed in"},
    404: {"description": "No such item, or not visible to you"},
}


def build_router() -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", responses=ERROR_RESPONSES, generate_unique_id_function=openapi_doc.operation_id
    )
    for module in (
        folders,
        files,
        versions,
        trash,
        me,
        audit,
        custody,
        tus,
        collaborations,
        groups,
        previews,
        shared_links,
        upload_requests,
        classification,
        accounts,
        zips,
        problem_types,
        skills,
        search,
        metadata,
    ):
        router.include_router(module.router)
    return router
