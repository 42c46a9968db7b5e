"""Telling the sender of an upload which files the virus scan rejected: on the receipt page, each
file says whether it was accepted, rejected or is still being checked; and when the scan rejects a
file after the receipt was sent, the sender gets a follow-up mail quoting the receipt's reference.

Rejected files are kept quarantined as evidence (never served); the sender is asked for a clean copy.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from strongroom import mail as mailer
from strongroom.config import MailSettings
from strongroom.content.models import FileVersion
from strongroom.sharing.models import SubmissionFile, UploadRequest, UploadSubmission

# A version's scan status as the sender reads it on the receipt.
SENDER_WORDS = {
    "clean": "Accepted",
    "skipped": "Accepted",
    "infected": "Rejected by the virus scan",
    "pending": "Being checked for viruses",
    "unavailable": "Being checked for viruses",
    "too_large": "Held: too large for the virus scan",
}


def scan_words(session: Session, file: SubmissionFile) -> str:
    version = session.get(FileVersion, file.version_id) if file.version_id else None
    if version is None:
        return ""
    return SENDER_WORDS.get(version.scan_status, "Being checked for viruses")


def tell_sender_of_rejection(
    session: Session, mail: MailSettings, *, version_id: str, why: str | None
) -> None:
    """If this version came through an upload link from someone who gave an e-mail address, tell them
    (after commit) that the virus scan rejected it, quoting their receipt's reference."""
    found = session.execute(
        select(SubmissionFile, UploadSubmission, UploadRequest)
        .join(UploadSubmission, UploadSubmission.id == SubmissionFile.submission_id)
        .join(UploadRequest, UploadRequest.id == UploadSubmission.request_id)
        .where(SubmissionFile.version_id == version_id)
    ).first()
    if found is None or not mailer.is_configured(mail):
        return
    file, submission, request = found
    if not submission.submitter_email:
        return
    body = (
        f"Your receipt {submission.reference} for '{request.title}'.\n\n"
        f"The file '{file.name}' you sent was rejected by the virus scan"
        + (f" ({why})" if why else "")
        + ". It is kept apart and will not be opened or used.\n\n"
        "If you have a clean copy, please send it again with the link you were given, or contact the "
        "officer who asked for it, quoting your reference.\n"
    )
    mailer.queue_mail(
        session,
        mail,
        mailer.Mail(
            to=submission.submitter_email,
            subject=f"Receipt {submission.reference}: a file was rejected",
            body=body,
        ),
    )
