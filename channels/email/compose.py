"""Mail we write and what we keep of mail we receive: pure functions, no I/O.

Replies are threaded as RFC 5322 §3.6.4 asks (Message-ID, In-Reply-To, References) and carry the case
reference in the subject, so that a citizen's answer finds its case even from a client that drops the
headers. Acknowledgements say they are automatic (RFC 3834 ``Auto-Submitted: auto-replied``) so that
no well-behaved responder answers them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: no I, L, O or U, so a reference read aloud or copied by hand stays right."""
_REFERENCE = re.compile(r"\bCD-([0-9A-HJKMNP-TV-Z]{6})\b", re.IGNORECASE)
MAX_REFERENCES = 20
"""How many earlier message ids a reply's References header names (the first and the latest ones)."""

ACK_EN = (
    "Thank you for contacting us. We have received your message and an adviser will reply as soon as they can.\n\n"
    "Your case reference is {reference}. Please keep it in the subject line if you write to us again about this.\n\n"
    "This is an automatic message."
)
ACK_CY = (
    "Diolch am gysylltu â ni. Rydym wedi cael eich neges a bydd cynghorydd yn ateb cyn gynted ag y gall.\n\n"
    "Cyfeirnod eich achos yw {reference}. Cadwch ef yn y llinell pwnc os byddwch yn ysgrifennu atom eto am hyn.\n\n"
    "Neges awtomatig yw hon."
)

ALLOWED_TYPES = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/heic": (".heic",),
    "text/plain": (".txt",),
    "text/csv": (".csv",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/rtf": (".rtf",),
}
"""What a citizen may send us: documents and photos, by type and the names such files have. Nothing
that runs (executables, scripts, HTML) and no archives, which could hide either."""
MAX_ATTACHMENT = 5 * 1024 * 1024
MAX_ATTACHMENTS = 10


def new_reference() -> str:
    """A fresh case reference, e.g. ``CD-7K3M9Q`` (30 random bits; the database keeps it unique)."""
    return "CD-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def reference_in(subject: str) -> str | None:
    """The case reference a subject quotes, as we wrote it, or None."""
    found = _REFERENCE.search(subject)
    return "CD-" + found.group(1).upper() if found else None


def one_line(text: str) -> str:
    """Header text on one line: line breaks and other control characters (a header injection, or just a
    pasted subject) become spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", " ", text)).strip()


def reply_subject(subject: str, reference: str) -> str:
    """``Re: <subject> [Ref: <reference>]``, without piling up ``Re:`` or repeating the reference
    (no ``[Ref: …]`` for a conversation that has no reference)."""
    subject = one_line(subject)
    tag = f" [Ref: {reference}]" if reference else ""
    base = re.sub(r"^\s*((re|fw|fwd|ateb)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()
    base = re.sub(r"\s*\[Ref:?\s*CD-[0-9A-Z]{6}\]", "", base, flags=re.IGNORECASE).strip()
    return f"Re: {base}{tag}" if base else f"Re: your message{tag}"


def acknowledgement_subject(reference: str, language: str) -> str:
    """The acknowledgement's subject: never the citizen's own words (which anyone could choose)."""
    words = ["We have your message", "Rydym wedi cael eich neges"]
    if language == "cy":
        words.reverse()
    return f"{' / '.join(words)} [Ref: {reference}]"


def thread_ids(ids: list[str]) -> list[str]:
    """The References of a reply: the thread's first message and the latest ones, oldest first."""
    unique = list(dict.fromkeys(i for i in ids if i))
    if len(unique) <= MAX_REFERENCES:
        return unique
    return [unique[0], *unique[-(MAX_REFERENCES - 1) :]]


@dataclass(frozen=True)
class Outgoing:
    """One mail to send: who from and to, and its headers' thread."""

    sender: str
    recipient: str
    subject: str
    text: str
    in_reply_to: str | None
    references: list[str]


def compose(mail: Outgoing, now: datetime, automatic: bool = False) -> tuple[str, bytes]:
    """The mail as sent (RFC 5322 bytes) and its Message-ID."""
    msg = EmailMessage()
    domain = mail.sender.rpartition("@")[2] or "contactd.invalid"
    message_id = make_msgid(domain=domain)
    msg["From"], msg["To"], msg["Subject"] = mail.sender, mail.recipient, one_line(mail.subject)
    msg["Date"], msg["Message-ID"] = format_datetime(now), message_id
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        msg["References"] = " ".join(thread_ids(mail.references))
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"  # Exchange/Outlook: no out-of-office answers to this
    msg.set_content(mail.text)
    return message_id, bytes(msg)


def acknowledgement_text(reference: str, en: str | None, cy: str | None, language: str) -> str | None:
    """The acknowledgement's text in both languages (the citizen's first), or None when the mailbox sends none.

    ``en``/``cy`` are the mailbox's own texts (None: ours); ``{reference}`` in them is the case reference."""
    texts = [ACK_EN if en is None else en, ACK_CY if cy is None else cy]
    texts = [t.replace("{reference}", reference) for t in texts if t.strip()]
    if not texts:
        return None
    if language == "cy":
        texts.reverse()
    return "\n\n----------\n\n".join(texts)


def attachment_refusal(filename: str, content_type: str, size: int, kept: int) -> str | None:
    """Why an attachment is not kept (None: keep it), given how many were kept before it."""
    name = filename.lower()
    if kept >= MAX_ATTACHMENTS:
        return f"more than {MAX_ATTACHMENTS} files"
    if size > MAX_ATTACHMENT:
        return f"larger than {MAX_ATTACHMENT // (1024 * 1024)} MB"
    endings = ALLOWED_TYPES.get(content_type.lower())
    if endings is None or not name.endswith(endings):
        return "a kind of file we do not accept"
    return None


def safe_filename(filename: str | None) -> str:
    """A file name fit to show and to offer for download: no path, no control characters, at most 120 characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"]", "", base).strip(" .") or "attachment"
    return base[-120:]
