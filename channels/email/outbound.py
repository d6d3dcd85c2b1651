"""Mail out: advisers' replies and acknowledgements, through ``CONTACTD_SMTP_RELAY_URL`` (aiosmtplib).

Nothing is sent from the request that wrote it: each mail goes into the outbox in PostgreSQL first
(``contactd/outbox.py``) and a sender on every node takes due mail from there, so a relay outage
delays a reply but never loses it. A temporary failure (4xx, no connection) is tried again with
backoff; a permanent refusal (5xx, RFC 5321 §4.2.1) or three days without success marks it failed.
The adviser's console hears each step (``message.status``: queued, retrying, sent, failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from channels.email.compose import (
    Outgoing,
    acknowledgement_subject,
    acknowledgement_text,
    compose,
    reply_subject,
)
from contactd.mail import Incoming, Mailbox
from contactd.outbox import LEASE_S, Due, Sent

log = logging.getLogger("channels.email")
GIVE_UP_S = 3 * 24 * 3600
"""After three days of temporary failures a mail is marked failed, for an adviser to follow up another way."""
SEND_TIMEOUT_S = 30.0
ACK_EVERY_S = 24 * 3600
"""One acknowledgement a day to one address: its later mail that day is acknowledged by the reply."""


@dataclass(frozen=True)
class Relay:
    """Where mail goes: ``smtp://[user:pass@]host[:port]`` (STARTTLS when offered) or ``smtps://`` (TLS)."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> Relay:
        u = urlsplit(url)
        tls = u.scheme == "smtps"
        return cls(
            host=u.hostname or "localhost",
            port=u.port or (465 if tls else 25),
            username=unquote(u.username) if u.username else None,
            password=unquote(u.password) if u.password else None,
            tls=tls,
        )

    def __repr__(self) -> str:  # never the password
        return f"Relay({self.host}:{self.port}, tls={self.tls})"


def backoff_s(attempts: int, first_s: float = 15.0) -> float:
    """Seconds before try ``attempts + 1``: 15 s, 30 s, 1 min, … at most 30 min."""
    return float(min(first_s * 2 ** max(0, attempts - 1), 1800.0))


def outcome(code: int | None, attempts: int, age_s: float, first_s: float = 15.0) -> tuple[str, float]:
    """What to do after an attempt whose mail got refusal ``code`` (None: sent; 0: anything but a refusal
    of this mail): (``sent`` | ``failed`` | ``queued``, seconds until the next try)."""
    if code is None:
        return "sent", 0.0
    wait = backoff_s(attempts, first_s)
    if 500 <= code < 600 or age_s + wait > GIVE_UP_S:
        return "failed", 0.0
    return "queued", wait


def refusal(error: Exception) -> int:
    """The reply code when the relay refused this mail itself (its recipient or its content: a 5xx there is
    final); 0 for anything else (the connection, TLS, the relay's login or our sender address: a relay
    set up wrong or down for a while, so every mail waits and is tried again rather than failing)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        return int(error.recipients[0].code)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return int(error.code)
    return 0


class MailSender:
    """Takes due mail from the outbox and hands it to the relay; one per node, all nodes share the outbox."""

    def __init__(self, svc: Any, relay: Relay | None) -> None:
        self.svc = svc
        self.relay = relay
        self.wake = asyncio.Event()
        self.first_retry_s = 15.0
        """The wait after a first failed try; it doubles with each further one."""

    def kick(self) -> None:
        """Mail was just queued: look now rather than at the next tick."""
        self.wake.set()

    async def run(self) -> None:
        if self.relay is None:
            log.warning("CONTACTD_SMTP_RELAY_URL is not set: email replies wait in the outbox")
            return
        while True:
            try:
                busy = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending mail failed; trying again shortly")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), 1.0)
                self.wake.clear()

    async def send_due(self) -> int:
        """Send what is due now; how many were tried."""
        due = await self.svc.outbox.claim()
        await asyncio.gather(*(self.send(d) for d in due))
        return len(due)

    async def send(self, due: Due) -> None:
        assert self.relay is not None
        code: int | None = None
        error = None
        try:
            async with asyncio.timeout(LEASE_S / 2):  # done, or given up, well inside this node's lease
                await aiosmtplib.send(
                    due.mail,
                    sender=due.sender,
                    recipients=[due.recipient],
                    hostname=self.relay.host,
                    port=self.relay.port,
                    username=self.relay.username,
                    password=self.relay.password,
                    use_tls=self.relay.tls,
                    # A password never crosses the network in the clear: STARTTLS is required with one.
                    start_tls=None if self.relay.tls or not self.relay.username else True,
                    timeout=SEND_TIMEOUT_S,
                )
        except Exception as e:  # each mail settles, whatever went wrong with it
            code, error = refusal(e), f"{type(e).__name__}: {e}"[:500]
        state, wait = outcome(code, due.attempts, due.age_s, self.first_retry_s)
        if state != "sent":
            log.warning("mail not sent", extra={"mail": due.id, "attempts": due.attempts, "next": state})
        await self.tell(await self.svc.outbox.settle(due.id, state, error, wait), state)

    async def tell(self, sent: Sent, state: str) -> None:
        if sent.agent_id is None or sent.client_id is None:
            return
        shown = {"sent": "sent", "failed": "failed"}.get(state, "retrying")
        await tell(self.svc, sent.agent_id, sent.conversation_id, sent.client_id, shown)


async def tell(svc: Any, agent_id: int | str, conversation_id: str, client_id: str, status: str) -> None:
    frame = {"type": "message.status", "conversation_id": conversation_id, "id": client_id, "status": status}
    await svc.conversations.to_agent(agent_id, frame)


async def agent_reply(
    svc: Any, user: Any, conversation_id: str, client_id: str, text: str, subject: str | None
) -> None:
    """An adviser's reply in an email conversation: threaded, with the case reference, into the outbox."""
    ctx = await svc.outbox.context(conversation_id)
    if ctx is None or not ctx.mailbox:
        log.warning("an email conversation with no address to or from", extra={"conversation_id": conversation_id})
        await tell(svc, user.id, conversation_id, client_id, "failed")
        return
    mail = Outgoing(
        sender=ctx.mailbox,
        recipient=ctx.recipient,
        subject=reply_subject(subject or ctx.subject, ctx.reference),
        text=text,
        in_reply_to=ctx.last_from_citizen,
        references=ctx.thread,
    )
    header_id, raw = compose(mail, datetime.now(UTC))
    envelope = (mail.sender, mail.recipient)
    if await svc.outbox.put(conversation_id, ("agent", client_id), header_id, raw, envelope, mail.subject):
        svc.mail_sender.kick()
        await tell(svc, user.id, conversation_id, client_id, "queued")


async def acknowledge(svc: Any, conversation_id: str, reference: str, mail: Incoming, box: Mailbox) -> bool:
    """Tell the citizen we have their mail, with its case reference, in English and Welsh (as the mailbox
    says); at most once a day to one address, so that a forged sender cannot turn us on someone's inbox."""
    text = acknowledgement_text(reference, box.acknowledgement_en, box.acknowledgement_cy, "en")
    if text is None:
        return False
    who = hashlib.sha256(mail.sender.encode()).hexdigest()[:32]
    if not await svc.redis.set(svc.keys.acknowledged(who), "1", nx=True, ex=ACK_EVERY_S):
        return False
    ack = Outgoing(box.address, mail.sender, acknowledgement_subject(reference, "en"), text, mail.message_id, [])
    header_id, raw = compose(ack, datetime.now(UTC), automatic=True)
    note = f"Acknowledgement sent (case reference {reference})."
    of, envelope = ("system", "acknowledgement"), (box.address, mail.sender)
    await svc.outbox.put(conversation_id, of, header_id, raw, envelope, ack.subject, note)
    svc.mail_sender.kick()
    return True
