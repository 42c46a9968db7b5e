"""The remembered answers of requests that carried an `Idempotency-Key`."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.db.base import Base, IdColumn, UTCDateTime


class IdempotencyRecord(Base):
    """One key of one caller, the request it was first used for, and the answer that request got.

    Written in the same transaction as the change the request made, so a committed change always has
    its record and a retry can never make the change twice."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("owner", "key"),
        Index("ix_idempotency_record_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # "<actor kind>:<actor id>": keys are per caller
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body fingerprint
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    response_headers: Mapped[str] = mapped_column(Text)  # JSON object of the headers worth replaying
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
