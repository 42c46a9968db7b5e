"""Search finds a file by what its CURRENT version's skills found, never by an older version's words.

A skill run indexes its words when it finishes (runs._finish, for the current version only). This
reaction, run by search/indexing.py's flush listener, covers the other way the words go stale: a
file's current version changes (a new upload, a restore, a copy). In the same flush, so in the same
transaction as the version change, every `skill.*` text of the item is replaced by the words of the
new current version's cards. A new upload has no cards yet, so the old words go at once and its own
skills add theirs when they finish. A restored or copied version shares the bytes of the version it
was made from (`restored_from_id`), so until its own skills run it is found by the words that
version's skills found in the same bytes.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from strongroom.content.models import File, FileVersion
from strongroom.search import indexing
from strongroom.search.models import SearchText
from strongroom.skills.models import SkillCard, SkillRun

SOURCE_PREFIX = "skill."  # runs._finish indexes each skill's words as "skill.<name>"
MAX_HOPS = 20  # a restore of a restore of ...: the chain of shared bytes is short in practice


def _words_of(connection: Connection, version_id: str) -> dict[str, str]:
    """{"skill.<name>": words} from the cards of `version_id`, or of the version whose bytes it
    shares when it has none of its own yet."""
    seen: set[str] = set()
    current: str | None = version_id
    while current is not None and current not in seen and len(seen) < MAX_HOPS:
        seen.add(current)
        rows = connection.execute(
            select(SkillCard.skill, SkillCard.search_text)
            .where(SkillCard.version_id == current, SkillCard.search_text != "")
            .order_by(SkillCard.id)
        ).all()
        ran = connection.execute(
            select(SkillRun.id).where(SkillRun.version_id == current, SkillRun.status == "done").limit(1)
        ).first()
        if rows or ran is not None:  # its own skills have spoken, even if they found no words
            words: dict[str, list[str]] = {}
            for skill, text in rows:
                words.setdefault(f"{SOURCE_PREFIX}{skill}", []).append(text)
            return {source: " ".join(parts) for source, parts in words.items()}
        current = connection.scalar(select(FileVersion.restored_from_id).where(FileVersion.id == current))
    return {}


def replace_skill_words(connection: Connection, item_id: str, version_id: str | None) -> None:
    """Make the item's `skill.*` search text the words of `version_id`'s skills (none: no words)."""
    words = _words_of(connection, version_id) if version_id else {}
    removed = connection.execute(
        delete(SearchText).where(
            SearchText.item_id == item_id, SearchText.source.startswith(SOURCE_PREFIX, autoescape=True)
        )
    ).rowcount
    for source, text in sorted(words.items()):
        indexing.add_text(connection, item_id, source, text)
    if removed or words:
        indexing.refresh_document_on(connection, item_id)


def _replace_current(connection: Connection, file: File) -> None:
    replace_skill_words(connection, file.id, file.current_version_id)


indexing.after_flush_of(File, ("current_version_id",), _replace_current)
