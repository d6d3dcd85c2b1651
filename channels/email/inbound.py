"""Mail in: an SMTP server (aiosmtpd) in the node's own event loop, on ``CONTACTD_SMTP_PORT``.

It takes mail only for the department's addresses (``mailboxes``: address → queue; others get 550),
at most ``MAX_BYTES`` a message (552) and ``PER_SENDER`` messages from one sender through one client in
``RATE_WINDOW_S`` (451, try later), parses it with the standard library (``policy.default``), keeps the
files within the limits of ``channels/email/compose.py``, and records each message once (its
Message-ID): a reply from the citizen joins its conversation (by its headers or the case reference in
the subject), anything else is a new contact in the address's queue, acknowledged with its reference.
Automatic mail (``Auto-Submitted``, a null sender, delivery reports) is accepted and dropped, so that no
contact and no mail loop comes of it. Whatever goes wrong on our side is a 451: the sender's server
keeps the mail and tries again (docs/email.md).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import logging
import re
import time
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from redis.exceptions import RedisError

from channels.email.compose import attachment_refusal, reference_in, safe_filename
from channels.email.outbound import acknowledge
from contactd.mail import Attachment, Incoming, Thread

log = logging.getLogger("channels.email")
MAX_BYTES = 10 * 1024 * 1024
MAX_TEXT = 20_000
PER_SENDER = 20
"""Messages one address may send us in ``RATE_WINDOW_S``; more get 451 (try later), so a mail loop or a
flood from one address stops there while a person's mail still arrives, a little later."""
RATE_WINDOW_S = 600


def header(msg: EmailMessage, name: str) -> str:
    """A header's value as text; the raw value when the standard library's parser fails on it (it raises
    on some malformed values, such as ``Message-ID: <``)."""
    try:
        return str(msg.get(name, "") or "")
    except Exception:
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        return re.sub(r"\s+", " ", str(raw)).strip()


def is_automatic(msg: EmailMessage, sender: str) -> bool:
    """Mail no person wrote to us (RFC 3834 Auto-Submitted, bounces, delivery reports)."""
    auto = header(msg, "Auto-Submitted").strip().lower() or "no"
    report = msg.get_content_type() == "multipart/report"
    return auto != "no" or not sender or sender == "<>" or report or bool(header(msg, "X-Autoreply"))


def references(msg: EmailMessage) -> list[str]:
    """The message ids a message replies to (In-Reply-To, then References), as written."""
    found = re.findall(r"<[^<>\s]+>", f"{header(msg, 'In-Reply-To')} {header(msg, 'References')}")
    return list(dict.fromkeys(found))


def text_of(msg: EmailMessage) -> str:
    """The message's text (the plain part; an HTML-only message loses its tags), at most ``MAX_TEXT``."""
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    body = str(part.get_content())
    if part.get_content_type() == "text/html":
        body = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?is)<(script|style).*?</\1>", " ", body)))
    return body.strip()[:MAX_TEXT]


def files_of(msg: EmailMessage) -> tuple[list[Attachment], list[str]]:
    """The attachments we keep, and a line for each we do not (for the adviser, who can ask again)."""
    kept: list[Attachment] = []
    refused: list[str] = []
    body = msg.get_body(preferencelist=("plain", "html"))
    # Every leaf of the MIME tree, not only the top level's: Apple Mail nests files under the alternative.
    for part in msg.walk():
        if part.is_multipart() or part is body or part.get_content_maintype() == "message":
            continue
        if part.get_content_disposition() != "attachment" and not part.get_filename():
            continue  # the other form of the text (HTML beside plain), not a file
        assert isinstance(part, EmailMessage)
        name = safe_filename(part.get_filename())
        try:
            data = part.get_payload(decode=True)
        except Exception:  # a part whose encoding is broken is refused like a wrong type
            data = None
        if not isinstance(data, bytes):
            refused.append(f"{name}: it could not be read")
            continue
        why = attachment_refusal(name, part.get_content_type(), len(data), len(kept))
        if why:
            refused.append(f"{name}: {why}")
        else:
            kept.append(Attachment(name, part.get_content_type(), data))
    return kept, refused


def incoming(msg: EmailMessage, raw: bytes, sender: str) -> Incoming:
    """What we keep of a citizen's mail: its id, sender, subject, text and files."""
    message_id = header(msg, "Message-ID").strip() or "<" + hashlib.sha256(raw).hexdigest() + "@contactd>"
    try:
        files, refused = files_of(msg)
    except Exception:  # malformed MIME: keep the text we could read
        files, refused = [], []
    text = text_of(msg)
    if refused:
        text += "\n\n[Files not kept: " + "; ".join(refused) + "]"
    return Incoming(message_id[:300], sender, header(msg, "Subject").strip()[:300], text, files)


class MailIn:
    """The SMTP handler: what the department's addresses receive."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    async def within_rate(self, session: Session, envelope: Envelope) -> bool:
        """At most ``PER_SENDER`` messages from one address through one client in ``RATE_WINDOW_S``
        (counted once a message is sent, shared by every node). Open when Redis is not answering."""
        window = int(time.time() // RATE_WINDOW_S)
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        who = hashlib.sha256(f"{peer} {envelope.mail_from}".lower().encode()).hexdigest()[:32]
        key = self.svc.keys.mail_rate(who, window)
        try:
            async with self.svc.redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(key).expire(key, RATE_WINDOW_S * 2).execute()
        except RedisError:
            log.warning("mail rate not checked: Redis did not answer")
            return True
        return int(count) <= PER_SENDER

    async def handle_exception(self, error: Exception) -> str:
        """Anything that went wrong on our side: the sender's server keeps the mail and tries again later
        (a 4xx), and is told nothing of our insides."""
        log.error("mail not taken: %s: %s", type(error).__name__, error)
        return "451 4.3.0 Temporary local error; please try again later"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if await self.svc.mail.mailbox(address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if envelope.mail_from and not await self.within_rate(session, envelope):
            log.warning("mail refused: sender over the rate limit")
            return "451 4.7.1 Too many messages from this address just now; please try again later"
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if is_automatic(msg, str(envelope.mail_from or "")):
            log.info("automatic mail dropped")
            return "250 OK: automatic mail is not answered"
        sender = parseaddr(header(msg, "From"))[1].lower() or str(envelope.mail_from or "").lower()
        mail = incoming(msg, raw, sender)
        thread = await self.svc.mail.thread_of(references(msg), reference_in(mail.subject))
        if thread is not None and thread.sender == sender:
            await self.reply(thread, mail)
            return "250 OK: received"
        box = await self.svc.mail.mailbox(envelope.rcpt_tos[0])
        if box is None:  # the mailbox went between RCPT and DATA
            return "550 5.1.1 No such mailbox here"
        cid, new, reference = await self.svc.mail.record(mail, box)
        if new:
            try:  # acknowledged before it is offered, so the adviser sees the acknowledgement and reference
                if mail.sender == str(envelope.mail_from or "").lower():  # RFC 3834 §4: to the Return-Path
                    await acknowledge(self.svc, cid, reference, mail, box)
            except Exception:  # the mail is recorded: it must still reach an adviser
                log.exception("acknowledgement not queued", extra={"conversation_id": cid})
            await self.queue(cid)
        return "250 OK: received"

    async def reply(self, thread: Thread, mail: Incoming) -> None:
        """A reply joins its conversation: the adviser sees it; a closed conversation opens again."""
        msg = await self.svc.mail.add_reply(thread.conversation_id, mail)
        if msg is None:
            return
        cid = thread.conversation_id
        if thread.state in ("closed", "abandoned"):
            if await self.svc.mail.reopen(cid):
                await self.queue(cid)
            return
        live = await self.svc.router_store.conversation(cid)
        if live is not None and live.state in ("assigned", "wrapup"):
            await self.svc.conversations.to_agent(
                live.agent_id, {"type": "message", **msg.frame(), "conversation_id": cid}
            )

    async def queue(self, conversation_id: str) -> None:
        conv = await self.svc.store.conversation(conversation_id)
        await self.svc.conversations.enqueue(conv)
        await self.svc.conversations.dispatch(conversation_id)


def smtp_factory(svc: Any) -> Any:
    """A protocol factory for ``loop.create_server``: our handler, the size limit (552 beyond it)."""
    handler = MailIn(svc)
    return lambda: SMTP(handler, data_size_limit=MAX_BYTES, enable_SMTPUTF8=True, hostname="contactd")
