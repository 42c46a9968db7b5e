"""GET /api/v1/problems/<code>: what a problem's `type` points at (RFC 9457 §3.1.1), in words."""

from fastapi import APIRouter

from strongroom import errors, problems

router = APIRouter(tags=["problems"])


@router.get("/problems/{code}", operation_id="describe_problem")
def describe_problem(code: str) -> dict[str, str]:
    """The problem type `code`: its title and what it means. Needs no sign-in."""
    described = problems.describe(code)
    if described is None:
        raise errors.NotFound("problem type", code)
    return described
