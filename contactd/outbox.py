"""Mail waiting to go out, in PostgreSQL: written in the same transaction as what it says, claimed by any
node with ``FOR UPDATE SKIP LOCKED``, kept until the relay took it (``channels/email/outbound.py`` sends)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

LEASE_S = 120
"""A claimed mail is another node's to try after this long (its node may have died while sending)."""


@dataclass(frozen=True)
class Due:
    """One mail to send now."""

    id: int
    sender: str
    recipient: str
    mail: bytes
    attempts: int
    age_s: float


@dataclass(frozen=True)
class ReplyContext:
    """What an adviser's email reply needs of its conversation."""

    mailbox: str
    recipient: str
    reference: str
    subject: str
    thread: list[str]
    """The message ids of the conversation so far, oldest first."""
    last_from_citizen: str | None


@dataclass(frozen=True)
class Sent:
    """Who to tell that a mail went (or did not): the adviser and their message, if it was a reply."""

    conversation_id: str
    client_id: str | None
    agent_id: int | None


class Outbox:
    """The outbox of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def context(self, conversation_id: str) -> ReplyContext | None:
        """The conversation's mailbox, citizen, reference, subject and thread; None if it is not email."""
        cid = uuid.UUID(conversation_id)
        row = await self.pool.fetchrow(
            "SELECT coalesce(c.mailbox, (SELECT m.address FROM mailboxes m WHERE m.queue_id = c.queue_id"
            " ORDER BY m.address LIMIT 1)) AS mailbox, coalesce(c.contact, z.email) AS email, c.reference"
            " FROM conversations c JOIN citizens z ON z.id = c.citizen_id"
            " WHERE c.id = $1 AND c.tenant_id = $2 AND c.channel = 'email'",
            cid,
            self.tenant,
        )
        if row is None or not row["email"]:
            return None
        msgs = await self.pool.fetch(
            "SELECT sender, external_id, subject FROM messages WHERE conversation_id = $1 ORDER BY id", cid
        )
        from_citizen = [m["external_id"] for m in msgs if m["sender"] == "citizen" and m["external_id"]]
        subject = next((m["subject"] for m in msgs if m["sender"] == "citizen" and m["subject"]), "")
        return ReplyContext(
            mailbox=row["mailbox"] or "",
            recipient=row["email"],
            reference=row["reference"] or "",
            subject=subject,
            thread=[m["external_id"] for m in msgs if m["external_id"]],
            last_from_citizen=from_citizen[-1] if from_citizen else None,
        )

    async def put(
        self,
        conversation_id: str,
        of: tuple[str, str],
        header_id: str,
        mail: bytes,
        envelope: tuple[str, str],
        subject: str,
        note: str | None = None,
    ) -> bool:
        """Queue ``mail`` for the conversation's message ``of`` (sender, client id), which takes its
        Message-ID ``header_id`` and ``subject``; ``envelope`` is (our mailbox, the citizen's address).
        With ``note``, that message is written now, as a system note, in the same transaction. False (and
        nothing queued) when the message went into the outbox before: a re-sent reply goes once."""
        sender, client_id = of
        cid = uuid.UUID(conversation_id)
        async with self.pool.acquire() as conn, conn.transaction():
            if note is not None:
                await conn.execute(
                    "INSERT INTO messages (conversation_id, sender, client_id, body) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT (conversation_id, sender, client_id) DO NOTHING",
                    cid,
                    sender,
                    client_id,
                    note,
                )
            row_id = await conn.fetchval(
                "UPDATE messages SET external_id = $4, delivery = 'queued', subject = $5"
                " WHERE conversation_id = $1 AND sender = $2 AND client_id = $3 AND external_id IS NULL RETURNING id",
                cid,
                sender,
                client_id,
                header_id,
                subject,
            )
            if row_id is None:
                return False
            await conn.execute(
                "INSERT INTO mail_outbox (tenant_id, conversation_id, message_id, header_id, sender, recipient, mail)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                self.tenant,
                cid,
                row_id,
                header_id,
                envelope[0],
                envelope[1],
                mail,
            )
        return True

    async def claim(self, limit: int = 20) -> list[Due]:
        """Up to ``limit`` mails due now, leased to this node for ``LEASE_S``."""
        rows = await self.pool.fetch(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $3)"
            " WHERE id IN (SELECT id FROM mail_outbox WHERE tenant_id = $1 AND state = 'queued'"
            " AND next_attempt_at <= now() ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, sender, recipient, mail, attempts, extract(epoch FROM now() - created_at) AS age",
            self.tenant,
            limit,
            float(LEASE_S),
        )
        return [Due(r["id"], r["sender"], r["recipient"], r["mail"], r["attempts"], float(r["age"])) for r in rows]

    async def settle(self, mail_id: int, state: str, error: str | None = None, retry_in_s: float = 0) -> Sent:
        """Record how an attempt went: sent, failed for good, or queued again in ``retry_in_s``."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE mail_outbox SET state = $2, last_error = $3,"
                " sent_at = CASE WHEN $2 = 'sent' THEN now() END,"
                " next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1"
                " RETURNING conversation_id, message_id",
                mail_id,
                state,
                error,
                retry_in_s,
            )
            shown = {"sent": "sent", "failed": "failed"}.get(state, "retrying")
            msg = await conn.fetchrow(
                "UPDATE messages SET delivery = $2 WHERE id = $1 RETURNING client_id, agent_id, sender",
                row["message_id"],
                shown,
            )
        if msg is None or msg["sender"] != "agent":
            return Sent(str(row["conversation_id"]), None, None)
        return Sent(str(row["conversation_id"]), msg["client_id"], msg["agent_id"])
