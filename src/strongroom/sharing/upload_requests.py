"""Upload requests ("file requests"): people without an account put files into a force folder.

A request is a link (`/r/<token>`) on a folder with a form, limits, an expiry and optionally a
password (`upload_passwords`). This module makes, finds, lists and closes requests. Each use is a
submission (`upload_submissions`: the form, its own subfolder, files received in offset-addressed
chunks); on completion the chunks are joined into sealed file versions and the submitter gets a
receipt (`upload_receipts`); the virus scan's verdicts reach them through `upload_rejections`.
"""

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.access.actions import Action
from strongroom.access.loaders import access_folder
from strongroom.actors import Actor, ActorKind, Origin
from strongroom.audit import events, timeline
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.audit.text import refuse_unsafe
from strongroom.clock import Clock, utc
from strongroom.config import SharingSettings
from strongroom.content.folders import ref
from strongroom.db.base import new_id
from strongroom.errors import Gone, GuestMayNotShare, InputError, NotFound
from strongroom.identity import users as identity_users
from strongroom.sharing import link_guessing
from strongroom.sharing.models import UploadRequest, UploadSubmission
from strongroom.sharing.schemas import FormField, UploadRequestCreate
from strongroom.sharing.shared_links import _expiry, new_token, token_digest


def create_upload_request(
    session: Session, actor: Actor, *, folder_id: str, options: UploadRequestCreate, clock: Clock
) -> tuple[UploadRequest, str]:
    """Open an upload request on a folder; returns it and its clear token (shown once). Raises NotFound."""
    folder = access_folder(session, actor, folder_id, Action.SHARE)
    now = timeline.decision_time(session, clock)  # `expires_in_days` counts from the deciding clock
    names = [f.name for f in options.fields]
    if len(set(names)) != len(names):
        raise InputError("Each form field needs its own name.", field="fields")
    refuse_unsafe(options.title, field="title", what="The title")
    refuse_unsafe(options.instructions, field="instructions", what="The instructions", multiline=True)
    for spec in options.fields:
        refuse_unsafe(spec.label, field="fields", what=f"The label of the field '{spec.name}'")
    clear = new_token()
    request = UploadRequest(
        id=new_id("ur"),
        folder_id=folder.id,
        token_hash=token_digest(clear),
        title=options.title,
        instructions=options.instructions,
        fields=json.dumps([f.model_dump() for f in options.fields]),
        allowed_types=json.dumps([t.strip().lower() for t in options.allowed_types]),
        max_bytes=options.max_bytes,
        single_use=options.single_use,
        expires_at=_expiry(options.expires_at, options.expires_in_days, now),
        created_at=now,
        created_by_id=actor.user_id,
        password_hash=identity_users.hash_password(options.password) if options.password else None,
    )
    session.add(request)
    session.flush()
    events.record(
        session,
        actor,
        AuditAction.UPLOAD_REQUEST_CREATED,
        item=ref(folder),
        details={"upload_request_id": request.id, "title": request.title, "max_bytes": request.max_bytes},
        at=now,
    )
    return request, clear


def access_upload_request(session: Session, actor: Actor, request_id: str) -> UploadRequest:
    request = session.get(UploadRequest, request_id)
    if request is None:
        raise NotFound("upload request", request_id)
    try:
        access_folder(session, actor, request.folder_id, Action.SHARE)
    except (NotFound, GuestMayNotShare):  # a guest learns nothing of the id either
        raise NotFound("upload request", request_id) from None  # the same answer as a random id
    return request


def list_upload_requests(session: Session, actor: Actor, *, folder_id: str) -> list[UploadRequest]:
    folder = access_folder(session, actor, folder_id, Action.SHARE)
    return list(
        session.scalars(
            select(UploadRequest)
            .where(UploadRequest.folder_id == folder.id)
            .order_by(UploadRequest.created_at)
        )
    )


def revoke_upload_request(session: Session, actor: Actor, *, request_id: str, clock: Clock) -> UploadRequest:
    request = access_upload_request(session, actor, request_id)
    if request.revoked_at is None:
        request.revoked_at = clock.now()
        events.record(
            session,
            actor,
            AuditAction.UPLOAD_REQUEST_REVOKED,
            item=ItemRef("upload_request", request.id, request.title),
            at=clock.now(),
        )
    return request


def list_submissions(session: Session, actor: Actor, *, request_id: str) -> list[UploadSubmission]:
    request = access_upload_request(session, actor, request_id)
    return list(
        session.scalars(
            select(UploadSubmission)
            .where(UploadSubmission.request_id == request.id)
            .order_by(UploadSubmission.created_at)
        )
    )


# --- the third party's side ---------------------------------------------------------------------


def find_request(session: Session, token: str) -> UploadRequest:
    """The request a token names, live or not (receipts stay readable). Raises NotFound."""
    request = session.scalar(select(UploadRequest).where(UploadRequest.token_hash == token_digest(token)))
    if request is None:
        raise NotFound("upload request", None)
    return request


def screen_token(
    session: Session, token: str, *, origin: Origin, settings: SharingSettings, clock: Clock
) -> bool:
    """Whether a token opens an upload request. One that opens none is counted as a guess from the
    visitor's address, with the shared links' guesses (commit before answering NotFound); raises
    RateLimited when that address has guessed too often."""
    link_guessing.ensure_not_guessing(session, origin, settings=settings, clock=clock)
    found = session.scalar(select(UploadRequest.id).where(UploadRequest.token_hash == token_digest(token)))
    if found is None:
        link_guessing.count_guess(session, origin, settings=settings, clock=clock)
        return False
    return True


def find_live_request(session: Session, token: str, *, clock: Clock) -> UploadRequest:
    """The request a token opens. Raises NotFound, or Gone (revoked, expired)."""
    request = find_request(session, token)
    if request.revoked_at is not None:
        raise Gone("This upload link has been withdrawn.")
    if request.expires_at is not None and utc(request.expires_at) <= timeline.decision_time(session, clock):
        raise Gone("This upload link has expired.")
    if request.single_use and request.used_at is not None:
        raise Gone("This upload link has already been used.")
    return request


def fields_of(request: UploadRequest) -> list[FormField]:
    return [FormField(**f) for f in json.loads(request.fields)]


def submitter_actor(request: UploadRequest, *, origin: Origin, label: str | None = None) -> Actor:
    return Actor(kind=ActorKind.UPLOAD_REQUEST, id=request.id, label=label or "upload request", origin=origin)
