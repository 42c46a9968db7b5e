"""Outgoing e-mail over SMTP (Settings.mail): one-time codes, upload receipts, owner notifications.

Mail is sent only after the transaction that caused it commits (`queue_mail`), so a rolled-back
change never mails anyone, and a slow mail server never holds a database lock.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy.orm import Session

from strongroom.config import MailSettings
from strongroom.db.session import on_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def is_configured(settings: MailSettings) -> bool:
    return settings.host is not None


def send_mail(settings: MailSettings, mail: Mail) -> None:
    """Send one message now. Raises OSError / smtplib.SMTPException when the server refuses or is down."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    # Codes and links must not be followed by mail scanners' previews of HTML; plain text only.
    message.set_content(mail.body)
    assert settings.host is not None
    smtp: smtplib.SMTP
    if settings.smtps:
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=30, context=tls_context(settings))
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=30)
    with smtp:
        if settings.starttls and not settings.smtps:
            smtp.starttls(context=tls_context(settings))
        if settings.username and settings.password:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


def tls_context(settings: MailSettings) -> ssl.SSLContext:
    """TLS that checks the mail server's certificate chain and its name (the configured host), against
    the force's own CA when `ca_file` is set, else the system's CAs. Codes and receipts must not go to
    whoever can intercept the connection to the mail server."""
    cafile = str(settings.ca_file) if settings.ca_file is not None else None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)


def _send_logged(settings: MailSettings, mail: Mail) -> None:
    try:
        send_mail(settings, mail)
    except (OSError, smtplib.SMTPException):
        # The change itself committed; a lost mail is visible in the log and the audit trail shows the
        # code or receipt was issued, so the person can ask again.
        log.exception("could not send mail %r", mail.subject)


def queue_mail(session: Session, settings: MailSettings, mail: Mail) -> None:
    """Send `mail` after the surrounding transaction commits. Without SMTP settings it is logged and
    dropped."""
    if not is_configured(settings):
        log.warning("mail not sent (no SMTP host in settings.mail): %r", mail.subject)
        return
    on_commit(session, lambda: _send_logged(settings, mail))
