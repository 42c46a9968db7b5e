"""One-time codes that prove a link recipient reads the mailbox they claim: 6 digits, 10 minutes, one use.

Only a hash of the code is stored. A code allows MAX_ATTEMPTS guesses; the link and IP throttles
(`throttling`) cap guessing across codes. Checking happens only on an explicit submit (the door's
POST), so a mail scanner that fetches links in the message cannot use the code up.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from strongroom.db.base import new_id
from strongroom.sharing.models import OneTimeCode

CODE_LIFETIME = timedelta(minutes=10)
CODE_DIGITS = 6
MAX_ATTEMPTS = 5


def _hash(code_id: str, code: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


def issue_code(session: Session, *, link_id: str, email_key: str, now: datetime) -> str:
    """A new code for this recipient of this link; earlier unused codes stop working. Returns the clear
    code."""
    session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.link_id == link_id, OneTimeCode.email_key == email_key, OneTimeCode.used_at.is_(None)
        )
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = OneTimeCode(
        id=new_id("otc"),
        link_id=link_id,
        email_key=email_key,
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        attempts=0,
    )
    row.code_hash = _hash(row.id, code)
    session.add(row)
    session.flush()
    return code


def consume_code(session: Session, *, link_id: str, email_key: str, code: str, now: datetime) -> bool:
    """True, and the code is used up, if `code` is the live code for this recipient of this link."""
    row = session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.link_id == link_id, OneTimeCode.email_key == email_key, OneTimeCode.used_at.is_(None)
        )
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        return False
    if row.expires_at <= now:
        return False
    row.attempts += 1
    if row.attempts > MAX_ATTEMPTS:
        row.used_at = now
        return False
    if not hmac.compare_digest(row.code_hash, _hash(row.id, code.strip())):
        return False
    row.used_at = now
    return True
