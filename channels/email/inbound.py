"""Mail in: an SMTP server (aiosmtpd) in the node's own event loop, on ``CONTACTD_SMTP_PORT``.

It takes mail only for the department's addresses (``mailboxes``: address → queue; others get 550),
at most ``MAX_BYTES`` a message (552), parses it with the standard library (``policy.default``), and
records each message once (its Message-ID): a new contact in the address's queue. Automatic mail
(``Auto-Submitted``, a null sender, delivery reports) is accepted and dropped, so that no contact and
no mail loop comes of it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import logging
import re
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("channels.email")
MAX_BYTES = 10 * 1024 * 1024
MAX_TEXT = 20_000


def is_automatic(msg: EmailMessage, sender: str) -> bool:
    """Mail no person wrote to us (RFC 3834 Auto-Submitted, bounces, delivery reports)."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    report = msg.get_content_type() == "multipart/report"
    return auto != "no" or not sender or sender == "<>" or report or bool(msg.get("X-Autoreply"))


def references(msg: EmailMessage) -> list[str]:
    """The message ids a message replies to (In-Reply-To, then References), as written."""
    found = re.findall(r"<[^<>\s]+>", f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}")
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


class MailIn:
    """The SMTP handler: what the department's addresses receive."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if await self.svc.mail.queue_for(address) is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        sender = parseaddr(str(msg.get("From", "")))[1].lower() or str(envelope.mail_from or "")
        if is_automatic(msg, str(envelope.mail_from or "")):
            log.info("automatic mail dropped")
            return "250 OK: automatic mail is not answered"
        message_id = str(msg.get("Message-ID", "")).strip() or "<" + hashlib.sha256(raw).hexdigest() + "@contactd>"
        subject = str(msg.get("Subject", ""))[:300]
        body = text_of(msg)
        thread = await self.svc.mail.thread_of(references(msg))
        if thread is not None:
            await self.reply(thread, message_id, f"{subject}\n\n{body}" if subject else body)
            return "250 OK: received"
        queue = await self.svc.mail.queue_for(envelope.rcpt_tos[0])
        cid, new = await self.svc.mail.record(message_id, sender, queue, subject, body)
        if new:
            await self.queue(cid)
        return "250 OK: received"

    async def reply(self, thread: tuple[str, str], message_id: str, text: str) -> None:
        """A reply joins its conversation: the adviser sees it; a closed conversation opens again."""
        cid, state = thread
        msg, new = await self.svc.store.add_message(cid, "citizen", message_id, text or "(no text)")
        if not new:
            return
        if state in ("closed", "abandoned"):
            if await self.svc.mail.reopen(cid):
                await self.queue(cid)
            return
        live = await self.svc.router_store.conversation(cid)
        if live is not None and live.state == "assigned":
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
