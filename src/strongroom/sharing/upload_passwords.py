"""An upload request's optional password: the sender types it once (given to them apart from the
link, e.g. by phone); the browser then carries a proof of it for that link only, so every page and
upload call of the link checks it. Wrong passwords are throttled per link and per address and recorded.

The proof is an HMAC of the request's id and its password hash under the server's secret: it cannot be
forged, and it stops working when the password is changed or the link closed.
"""

import hashlib
import hmac
from datetime import timedelta

from sqlalchemy.orm import Session

from strongroom.actors import Origin
from strongroom.audit import events
from strongroom.audit.events import AuditAction, ItemRef
from strongroom.clock import Clock
from strongroom.config import SharingSettings
from strongroom.identity import users as identity_users
from strongroom.sharing import throttling
from strongroom.sharing.models import UploadRequest
from strongroom.sharing.upload_requests import submitter_actor

MIN_PASSWORD_LENGTH = 8


def needs_password(request: UploadRequest) -> bool:
    return request.password_hash is not None


def proof_of(request: UploadRequest, *, secret: str) -> str:
    message = f"{request.id}:{request.password_hash}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def proof_holds(request: UploadRequest, proof: str | None, *, secret: str) -> bool:
    """Whether the visitor may go on: no password asked, or the proof of this one."""
    if not needs_password(request):
        return True
    return proof is not None and hmac.compare_digest(proof, proof_of(request, secret=secret))


def check_upload_password(
    session: Session,
    request: UploadRequest,
    *,
    password: str,
    origin: Origin,
    settings: SharingSettings,
    clock: Clock,
) -> bool:
    """Whether `password` is the request's. Raises RateLimited. A failure is recorded (commit it)."""
    now = clock.now()
    window = timedelta(seconds=settings.throttle_window_seconds)
    limits = [
        throttling.Limit(f"upload:{request.id}", settings.password_failures_per_link, window),
        throttling.Limit(f"ip:{origin.ip or 'unknown'}", settings.password_failures_per_ip, window),
    ]
    throttling.ensure_not_throttled(session, limits, now=now)
    actor = submitter_actor(request, origin=origin)
    item = ItemRef("upload_request", request.id, request.title)
    if identity_users.password_matches(request.password_hash, password):
        events.record(session, actor, AuditAction.UPLOAD_PASSWORD_ACCEPTED, item=item, at=now)
        return True
    throttling.record_failure(session, limits, now=now)
    events.record(session, actor, AuditAction.UPLOAD_PASSWORD_FAILED, item=item, at=now)
    return False
