"""The storage domain's tables: the key-use log."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, UTCDateTime


class KeyUseRecord(Base):
    """Uses of one data key in one batch of the key-use log: how often it was unwrapped by the key
    provider (the HSM) and how often served from the short unwrap cache, between two times.

    `blob_key` joins it to the version or rendition whose data key it is, and through that item to
    the audit events of the same file and time.
    """

    __tablename__ = "key_use"
    __table_args__ = (Index("ix_key_use_blob_key", "blob_key"), Index("ix_key_use_first_at", "first_at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kek_id: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(128))
    process: Mapped[str] = mapped_column(String(64))
    unwraps: Mapped[int] = mapped_column(Integer)
    cached_uses: Mapped[int] = mapped_column(Integer)
