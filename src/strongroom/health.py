"""/healthz (the process answers) and /readyz (it can do its work: database, blob store, keys).

A load balancer or orchestrator sends traffic only while /readyz is 200, and restarts the process
only when /healthz stops answering: an outage of the database is not a reason to restart the server.
Each readiness check does the smallest real operation of its part, not a configuration look-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from strongroom.db.migrate import current_revisions, head_revision
from strongroom.runtime import Runtime
from strongroom.storage.blobs import BlobStore, new_blob_key
from strongroom.storage.keys import KeyProvider, new_data_key

log = logging.getLogger(__name__)
router = APIRouter()
_PROBE_CONTEXT: Final = b"strongroom readiness probe"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    code: str | None = None  # stable, for alerts: what failed
    detail: str | None = None


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revisions = current_revisions(engine)
    except Exception as exc:  # any failure means "not ready", reported with its kind
        return Check("database", ok=False, code="database_unavailable", detail=exc.__class__.__name__)
    if revisions != (head_revision(),):
        return Check(
            "database",
            ok=False,
            code="database_schema_mismatch",
            detail=f"schema {', '.join(revisions) or '(empty)'}; run `strongroom db upgrade`",
        )
    return Check("database", ok=True)


def check_blob_store(blobs: BlobStore) -> Check:
    """Write, read back and delete a small blob: a full, read-only or missing disk all show here."""
    key = new_blob_key()
    try:
        writer = blobs.create(key)
        try:
            writer.write(b"ready")
            writer.complete()
        except BaseException:
            writer.abort()
            raise
        try:
            if blobs.read(key, offset=0, length=5) != b"ready":
                return Check(
                    "blob_store", ok=False, code="blob_store_unavailable", detail="read back differs"
                )
        finally:
            blobs.delete(key)
    except Exception as exc:  # any failure means "not ready", reported with its kind
        return Check("blob_store", ok=False, code="blob_store_unavailable", detail=exc.__class__.__name__)
    return Check("blob_store", ok=True)


def check_keys(keys: KeyProvider) -> Check:
    """Wrap and unwrap a throwaway data key with the current key-encryption key."""
    try:
        dek = new_data_key()
        wrapped = keys.wrap_data_key(dek, context=_PROBE_CONTEXT)
        ok = keys.unwrap_data_key(wrapped, context=_PROBE_CONTEXT) == dek
    except Exception as exc:  # any failure means "not ready", reported with its kind
        return Check("key_provider", ok=False, code="key_provider_unavailable", detail=exc.__class__.__name__)
    if not ok:
        return Check("key_provider", ok=False, code="key_provider_unavailable", detail="unwrap differs")
    return Check("key_provider", ok=True)


def readiness(runtime: Runtime) -> list[Check]:
    # The store itself, not the pending-blob recorder in front of it: that one needs the database, whose
    # state the first check reports, and the blob store's readiness must be told apart from it.
    store = getattr(runtime.blobs, "inner", runtime.blobs)
    return [check_database(runtime.engine), check_blob_store(store), check_keys(runtime.keys)]


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process is alive and serving HTTP; says nothing about its dependencies."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    checks = readiness(runtime)
    body: dict[str, object] = {
        "checks": {
            c.name: {"ok": c.ok, **({"code": c.code, "detail": c.detail} if not c.ok else {})} for c in checks
        }
    }
    failed = [c for c in checks if not c.ok]
    if not failed:
        return JSONResponse({"status": "ready", **body})
    log.warning("not ready: %s", ", ".join(f"{c.name}={c.code} ({c.detail})" for c in failed))
    # The first failure names the answer; every check is in the body for the operator.
    return JSONResponse(
        {"status": "not_ready", "code": failed[0].code, "message": f"{failed[0].name} is not ready", **body},
        status_code=503,
        headers={"Retry-After": "5", "Cache-Control": "no-store"},
    )
