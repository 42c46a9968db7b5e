"""What a link's recipients are told: in the mail that sends them the link, and on its pages.

Who shared it (the creator's display name), from which force (`[sharing] force_name`), about which case
or exhibit (the link's `about`), and until when.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.config import MailSettings, SharingSettings
from strongroom.content.models import Item
from strongroom.identity.models import User
from strongroom.sharing.models import SharedLink
from strongroom.uk_time import uk_time


@dataclass(frozen=True)
class LinkFacts:
    """What a recipient is told about a link: who shared it, from which force, about what, until when."""

    shared_by: str | None
    force: str
    about: str
    expires_at: datetime | None


def link_facts(session: Session, link: SharedLink, settings: SharingSettings) -> LinkFacts:
    user = session.get(User, link.created_by_id) if link.created_by_id else None
    return LinkFacts(
        shared_by=user.display_name if user else None,
        force=settings.force_name,
        about=link.about or "",
        expires_at=link.expires_at,
    )


def mail_link(
    session: Session,
    link: SharedLink,
    item: Item,
    recipients: list[str],
    *,
    url: str,
    mail: MailSettings,
    settings: SharingSettings,
) -> None:
    facts = link_facts(session, link, settings)
    who = facts.shared_by or "Someone"
    force = f" of {facts.force}" if facts.force else ""
    kind = "a folder" if item.is_folder else "a file"
    lines = [f"{who}{force} has shared {kind} with you: {item.name}"]
    if facts.about:
        lines.append(f"About: {facts.about}")
    lines += ["", f"Open it here: {url}", ""]
    if facts.expires_at is not None:
        lines.append(f"The link works until {uk_time(facts.expires_at)}.")
    if link.require_recipient_proof:
        lines.append("You will be asked for your e-mail address and sent a code, to confirm it is you.")
    if link.password_hash is not None:
        lines.append(f"It needs a password, which {who} will give you separately.")
    lines += ["", "Do not forward this message: everything done through the link is recorded."]
    subject = f"{who}{force} shared {item.name} with you"[:200]
    for email in recipients:
        mailer.queue_mail(session, mail, mailer.Mail(to=email, subject=subject, body="\n".join(lines)))
