"""What skills did to each version (the processing log) and what they found (cards).

A card's findings are content (words said, words written, where faces are), so they are sealed like
the file itself: `payload` is AES-GCM ciphertext under the card's own data key, wrapped by the key
provider with the card's `blob_key` as context (key rotation re-wraps it like a version's).
`search_text` is the one plain copy: the searchable words only, kept so the search index can be
built and queried without the key provider (docs/skills.md explains the trade-off).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, IdColumn, UTCDateTime


class SkillRun(Base):
    """One skill on one version: pending → running → done or failed (with the reason)."""

    __tablename__ = "skill_run"
    __table_args__ = (Index("uq_skill_run_version_skill", "version_id", "skill", unique=True),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("file_version.id", ondelete="CASCADE"))
    file_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    skill: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # pending | running | done | failed
    detail: Mapped[str | None] = mapped_column(String(1000))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SkillCard(Base):
    """A result: keywords, a transcript with timings, or a timeline of detections."""

    __tablename__ = "skill_card"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("skill_run.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("file_version.id", ondelete="CASCADE"), index=True)
    file_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    skill: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # keywords | text | transcript | timeline
    model: Mapped[str | None] = mapped_column(String(200))  # the recogniser or detector that made it
    summary: Mapped[str] = mapped_column(String(300))  # content-free: "12 words", "2 faces"
    search_text: Mapped[str] = mapped_column(Text, default="")  # plain on purpose; see the module doc
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # nonce || AES-GCM ciphertext of the JSON
    blob_key: Mapped[str] = mapped_column(String(64))  # the data key's wrap context (no blob is stored)
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
