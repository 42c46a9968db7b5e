"""`Idempotency-Key` on the REST door: which requests take one, and how an answer is replayed.

Endpoints that honour it (a retry with the same key, by the same caller, to the same method and path
with the same body gets the first answer and changes nothing):

* `PUT /folders/{id}/files/{name}` — the body is fingerprinted by its `Content-Length` and its
  `Repr-Digest`/`Content-Digest` (send one to have the bytes themselves compared);
* `POST /folders` and `POST /files/{id}/copy`, `POST /folders/{id}/copy` — by their JSON body.

The same key on another request answers 409 `idempotency_key_reused`. Replayed answers carry
`Idempotent-Replayed: true`.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from strongroom.actors import Actor
from strongroom.db.session import transaction
from strongroom.errors import Conflict
from strongroom.idempotency import keys
from strongroom.runtime import Runtime

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (e.g. a UUID) you reuse when you retry this request: "
        "the retry gets the first answer and changes nothing.",
    ),
]
REPLAYED = "Idempotent-Replayed"
REPLAYED_HEADERS = frozenset({"location", "etag"})


def identify(
    actor: Actor, value: str | None, *, request: Request, fingerprint: str
) -> keys.IdempotentRequest | None:
    """The request's identity for its key, or None when it has no `Idempotency-Key`. Raises InputError."""
    if value is None:
        return None
    return keys.identify(
        actor, keys.parse_key(value), method=request.method, path=request.url.path, fingerprint=fingerprint
    )


def lifetime(runtime: Runtime) -> timedelta:
    return timedelta(hours=runtime.settings.idempotency.key_lifetime_hours)


def remembered(runtime: Runtime, idem: keys.IdempotentRequest) -> Response | None:
    """The first answer, replayed, if this key was used before. Raises IdempotencyKeyReused."""
    with transaction(runtime.sessions) as session:
        answer = keys.find(session, idem, now=runtime.clock.now())
    if answer is None:
        return None
    return Response(
        answer.body,
        status_code=answer.status_code,
        headers={**answer.headers, REPLAYED: "true"},
        media_type="application/json",
    )


def remember(
    session: Session,
    runtime: Runtime,
    idem: keys.IdempotentRequest | None,
    *,
    status_code: int,
    body: BaseModel,
    headers: dict[str, str],
) -> None:
    """Record the answer in the transaction that made the change (no-op without a key)."""
    if idem is None:
        return
    kept = {name: value for name, value in headers.items() if name.lower() in REPLAYED_HEADERS}
    answer = keys.RememberedAnswer(status_code=status_code, body=body.model_dump_json(), headers=kept)
    keys.remember(session, idem, answer, now=runtime.clock.now(), lifetime=lifetime(runtime))


def run_json(
    runtime: Runtime,
    idem: keys.IdempotentRequest | None,
    work: Callable[[Session], tuple[BaseModel, dict[str, str]]],
    *,
    status_code: int,
) -> Response:
    """Do `work` in one transaction, remembering its answer under the key; replay instead when the key
    was used already, or when a concurrent retry with the same key committed first."""
    if idem is not None and (replay := remembered(runtime, idem)) is not None:
        return replay
    try:
        with transaction(runtime.sessions) as session:
            result, headers = work(session)
            remember(session, runtime, idem, status_code=status_code, body=result, headers=headers)
    except Conflict:
        if idem is not None and (replay := remembered(runtime, idem)) is not None:
            return replay
        raise
    return Response(
        result.model_dump_json(), status_code=status_code, headers=headers, media_type="application/json"
    )


def body_fingerprint(body: BaseModel) -> str:
    return json.dumps(body.model_dump(mode="json"), sort_keys=True)
