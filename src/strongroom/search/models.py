"""Search tables: metadata templates and the values set on items, and one search document per item.

The full-text index itself is not a model: SQLite keeps it in an FTS5 table (`search_fts`) filled by
triggers on `search_document` (migration 0010_search), PostgreSQL in a generated tsvector column
(`search_tsv`) with a GIN index (`ix_search_document_tsv`, migration 0013_search_tsv_column): the column
exists on PostgreSQL only. `UNMODELLED` names them so schema comparisons leave them alone.
"""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.content.models import Item
from strongroom.db.base import Base, IdColumn, UTCDateTime

UNMODELLED = ("search_fts", "search_tsv", "ix_search_document_tsv")


def include_name(name: str | None, _type: str, _parents: object) -> bool:
    """For Alembic's comparison: the index objects and the column that only SQL (not the models)
    describes are skipped."""
    return name is None or not name.startswith(UNMODELLED)


class MetadataTemplate(Base):
    """A set of typed fields an administrator defines (Case: URN, offence, officer in the case)."""

    __tablename__ = "metadata_template"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # "case": how queries name it
    name: Mapped[str] = mapped_column(String(200))
    fields: Mapped[str] = mapped_column(Text)  # JSON list of {key, label, type, required, options}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by_id: Mapped[str | None] = mapped_column(IdColumn())
    revision: Mapped[int] = mapped_column(Integer, default=1)


class ItemMetadata(Base):
    """The values of one template on one item, as the user gave them (JSON)."""

    __tablename__ = "item_metadata"

    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    template_id: Mapped[str] = mapped_column(
        ForeignKey("metadata_template.id", ondelete="CASCADE"), primary_key=True
    )
    values: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[str | None] = mapped_column(IdColumn())


class MetadataValue(Base):
    """One typed value of one field on one item (a multi-select gives one row per choice): what the
    query language compares, through indexes, inside the search query."""

    __tablename__ = "metadata_value"
    __table_args__ = (
        Index("ix_metadata_value_item_id", "item_id"),
        Index("ix_metadata_value_text", "template_key", "field", "text_value"),
        Index("ix_metadata_value_number", "template_key", "field", "number_value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"))
    template_key: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(64))
    text_value: Mapped[str | None] = mapped_column(String(1000))  # text, enum, choices, ISO dates
    number_value: Mapped[float | None] = mapped_column(Float)


class SearchDocument(Base):
    """What full-text search reads for one item: its name, and a body made of its metadata values and
    every text source added with `search.indexing.index_text` (extracted text, OCR, transcripts)."""

    __tablename__ = "search_document"

    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # FTS5 rowid
    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, default="")
    # The item's folder, kept in step by search/indexing.py: the search drops matches outside the
    # folders a user reaches without reading their items (the full test still reads the live item).
    parent_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)


class SearchText(Base):
    """One source of searchable text for an item ("metadata", "text", "ocr", "transcript:v3"...)."""

    __tablename__ = "search_text"

    item_id: Mapped[str] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


# Search finds what a user owns from `item.owner_id`: without this index every search would scan items.
Index("ix_item_owner_id", Item.__table__.c.owner_id)
# The visibility walk goes down live folders only (search/visibility.py); files never enter it.
Index(
    "ix_item_live_subfolders",
    Item.__table__.c.parent_id,
    sqlite_where=text("kind = 'folder' AND trashed_at IS NULL"),
    postgresql_where=text("kind = 'folder' AND trashed_at IS NULL"),
)
