"""Offline checks of a disposal certificate (issued by `content.disposals`).

A certificate is signed with the audit signing key over every field but the signature. It is
*verified* only when a key the verifier holds made the signature (and the origin is the one
expected); with a log export it must also name a purge event that is in that log with that hash.
"""

from __future__ import annotations

from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit import chain
from strongroom.audit.events import AuditAction
from strongroom.audit.trust import NO_TRUSTED_KEY, Signers, Trust, Verdict

SIGNING_PREFIX: Final = b"strongroom disposal certificate v1\n"
PURGE_ACTION: Final = AuditAction.ITEM_PURGED.value
_REQUIRED: Final = ("id", "origin", "item", "version", "disposed_at", "disposed_by", "reason", "audit_event")


def signed_bytes(certificate: dict[str, Any]) -> bytes:
    """What the signature covers: every field but the signature itself, canonical JSON."""
    unsigned = {k: v for k, v in certificate.items() if k != "signature"}
    return SIGNING_PREFIX + chain.canonical_json(unsigned).encode("utf-8")


def is_certificate(document: object) -> bool:
    return isinstance(document, dict) and "disposal_certificate" in document


def _signed_by(certificate: dict[str, Any], key: bytes) -> bool:
    try:
        signature = bytes.fromhex(str(certificate.get("signature", "")))
        Ed25519PublicKey.from_public_bytes(key).verify(signature, signed_bytes(certificate))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_certificate(certificate: dict[str, Any], *, trust: Trust) -> Verdict:
    verdict = Verdict()
    if certificate.get("disposal_certificate") != 1:
        verdict.problems.append("not a disposal certificate of format 1")
        return verdict
    missing = [name for name in _REQUIRED if name not in certificate]
    if missing:
        verdict.problems.append(f"fields missing: {', '.join(missing)}")
    signers = Signers.choose(trust, certificate.get("public_key"))
    if not any(_signed_by(certificate, key) for key in signers.keys):
        verdict.problems.append(
            "the signature does not match the certificate: it was altered, or signed by another key"
        )
    elif not signers.trusted:
        verdict.unverified.append(NO_TRUSTED_KEY)
    if trust.origin is not None and certificate.get("origin") != trust.origin:
        verdict.problems.append(
            f"the certificate is of the log {certificate.get('origin')!r}, not {trust.origin!r}"
        )
    return verdict


def purge_event_of(certificate: dict[str, Any]) -> tuple[int, str, str] | None:
    """(seq, hash, purged item id) of the purge event the certificate names, if well-formed."""
    event = certificate.get("audit_event")
    if not isinstance(event, dict):
        return None
    try:
        return int(event["seq"]), str(event["hash"]), str(event["purged_item_id"])
    except (KeyError, TypeError, ValueError):
        return None


def in_log(certificate: dict[str, Any], item_events: dict[int, str]) -> list[str]:
    """Problems if the certificate's purge event is not in the log as named (`item_events`: seq -> hash
    of the log's events about the purged item, from a verified export)."""
    named = purge_event_of(certificate)
    if named is None:
        return ["the certificate names no purge event"]
    seq, digest, _item = named
    found = item_events.get(seq)
    if found is None:
        return [f"the log has no event {seq} about the purged item"]
    if found != digest:
        return [f"event {seq} in the log has another hash than the certificate names"]
    return []


def summary(certificate: dict[str, Any]) -> str:
    version: Any = certificate.get("version") or {}
    item: Any = certificate.get("item") or {}
    return (
        f"{item.get('name')!r} version {version.get('number')} (SHA-256 {version.get('sha256')}) disposed of "
        f"by {certificate.get('disposed_by')} at {certificate.get('disposed_at')}: data key "
        f"{certificate.get('data_key')}"
    )
