"""Cards: what a skill found, sealed under their own data key, and the plain words for search.

The payload (text, transcript, detections) is JSON encrypted with AES-256-GCM under a fresh data key
per card; the key is wrapped by the runtime's key provider with `card/<id>` as context (stored as
`blob_key`, so key rotation re-wraps cards like versions and renditions; no blob is written: cards
are small and live in the row). Only `search_text` is plain: see docs/skills.md for the trade-off.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom.content.models import File
from strongroom.db.base import new_id
from strongroom.skills.models import SkillCard
from strongroom.storage.keys import KeyProvider, WrappedKey

NONCE = 12
SEARCH_TEXT_CHARS = 1_000_000  # a search index holds words, not whole books


@dataclass(frozen=True)
class Finding:
    """A card a skill made, before it is sealed."""

    kind: str  # keywords | text | transcript | timeline
    summary: str
    payload: dict[str, Any]
    search_text: str = ""
    model: str | None = None


def seal(
    finding: Finding,
    *,
    keys: KeyProvider,
    run_id: str,
    version_id: str,
    file_id: str,
    skill: str,
    now: datetime,
) -> SkillCard:
    card_id = new_id("card")
    context = f"card/{card_id}"
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE)
    plain = json.dumps(finding.payload, ensure_ascii=False).encode()
    wrapped = keys.wrap_data_key(dek, context=context.encode())
    return SkillCard(
        id=card_id,
        run_id=run_id,
        version_id=version_id,
        file_id=file_id,
        skill=skill,
        kind=finding.kind,
        model=finding.model,
        summary=finding.summary[:300],
        search_text=" ".join(finding.search_text.split())[:SEARCH_TEXT_CHARS],
        payload=nonce + AESGCM(dek).encrypt(nonce, plain, card_id.encode()),
        blob_key=context,
        kek_id=wrapped.kek_id,
        wrapped_dek=wrapped.ciphertext,
        created_at=now,
    )


def unseal(card: SkillCard, *, keys: KeyProvider) -> dict[str, Any]:
    """The card's findings. Raises KeyUnavailable (503) when its key cannot be unwrapped."""
    dek = keys.unwrap_data_key(
        WrappedKey(kek_id=card.kek_id, ciphertext=card.wrapped_dek), context=card.blob_key.encode()
    )
    nonce, sealed = card.payload[:NONCE], card.payload[NONCE:]
    found: dict[str, Any] = json.loads(AESGCM(dek).decrypt(nonce, sealed, card.id.encode()))
    return found


@dataclass(frozen=True)
class SearchText:
    """One card's searchable words, for the search indexer."""

    item_id: str
    version_id: str
    source: str  # "<skill>.<kind>", e.g. "transcript.transcript", "ocr.text"
    text: str
    card_id: str


def search_texts(
    session: Session, *, after: str = "", limit: int = 1000, item_id: str | None = None
) -> list[SearchText]:
    """The words skills found in files' current versions, in card id order from `after` (keyset
    paging for the indexer). Cards of older versions are left out: search finds what a file says now.
    The caller applies permissions; this reads no content key."""
    query = (
        select(
            SkillCard.id,
            SkillCard.file_id,
            SkillCard.version_id,
            SkillCard.skill,
            SkillCard.kind,
            SkillCard.search_text,
        )
        .join(File, File.current_version_id == SkillCard.version_id)
        .where(SkillCard.id > after, SkillCard.search_text != "")
        .order_by(SkillCard.id)
        .limit(limit)
    )
    if item_id is not None:
        query = query.where(SkillCard.file_id == item_id)
    return [
        SearchText(
            item_id=row.file_id,
            version_id=row.version_id,
            source=f"{row.skill}.{row.kind}",
            text=row.search_text,
            card_id=row.id,
        )
        for row in session.execute(query)
    ]
