"""Mail in the system of record: the department's addresses, and messages recorded once by Message-ID."""

from __future__ import annotations

import uuid

import asyncpg


class MailRecords:
    """Mail of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def queue_for(self, address: str) -> str | None:
        """The queue an address of ours leads to, or None when we take no mail for it."""
        name: str | None = await self.pool.fetchval(
            "SELECT q.name FROM mailboxes m JOIN queues q ON q.id = m.queue_id"
            " WHERE m.tenant_id = $1 AND m.address = $2 AND q.active",
            self.tenant,
            address.strip().strip("<>").lower(),
        )
        return name

    async def record(self, message_id: str, sender: str, queue: str, subject: str, body: str) -> tuple[str, bool]:
        """A new contact from ``sender``'s message, once per Message-ID: (conversation id, whether new)."""
        async with self.pool.acquire() as conn, conn.transaction():
            citizen = await conn.fetchval(
                "SELECT id FROM citizens WHERE tenant_id = $1 AND email = $2 ORDER BY created_at DESC LIMIT 1",
                self.tenant,
                sender,
            ) or await conn.fetchval(
                "INSERT INTO citizens (tenant_id, display_name, email) VALUES ($1, $2, $2) RETURNING id",
                self.tenant,
                sender,
            )
            cid = await conn.fetchval(
                "INSERT INTO conversations (tenant_id, channel, queue_id, citizen_id, state, external_id)"
                " SELECT $1, 'email', q.id, $2, 'queued', $3 FROM queues q WHERE q.tenant_id = $1 AND q.name = $4"
                " ON CONFLICT (tenant_id, channel, external_id) DO NOTHING RETURNING id",
                self.tenant,
                citizen,
                message_id[:300],
                queue,
            )
            if cid is None:
                old = await conn.fetchval(
                    "SELECT id FROM conversations WHERE tenant_id = $1 AND channel = 'email' AND external_id = $2",
                    self.tenant,
                    message_id[:300],
                )
                return str(old), False
            text = f"{subject}\n\n{body}" if subject else body
            await conn.execute(
                "INSERT INTO messages (conversation_id, sender, client_id, body) VALUES ($1, 'citizen', $2, $3)",
                cid,
                message_id[:300],
                text or "(no text)",
            )
            await conn.execute(
                "INSERT INTO events (tenant_id, type, conversation_id, data) VALUES"
                " ($1, 'conversation.arrived', $2, jsonb_build_object('channel', 'email', 'queue', $3::text))",
                self.tenant,
                cid,
                queue,
            )
        return str(cid), True

    async def thread_of(self, references: list[str]) -> tuple[str, str] | None:
        """The conversation a reply belongs to (any message id it refers to, ours or theirs): (id, state)."""
        if not references:
            return None
        row = await self.pool.fetchrow(
            "SELECT c.id::text, c.state FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE c.tenant_id = $1 AND c.channel = 'email' AND m.client_id = ANY($2::text[])"
            " ORDER BY m.id DESC LIMIT 1",
            self.tenant,
            [r[:300] for r in references],
        )
        return (row["id"], row["state"]) if row else None

    async def reopen(self, conversation_id: str) -> bool:
        """A reply to a closed conversation opens it again: it waits in its queue from now."""
        async with self.pool.acquire() as conn, conn.transaction():
            done: str = await conn.execute(
                "UPDATE conversations SET state = 'queued', queued_at = now(), agent_id = NULL, assigned_at = NULL,"
                " ended_at = NULL, ended_by = NULL, closed_at = NULL"
                " WHERE id = $1 AND state IN ('closed', 'abandoned')",
                uuid.UUID(conversation_id),
            )
            if not done.endswith(" 1"):
                return False
            await conn.execute(
                "INSERT INTO events (tenant_id, type, conversation_id) VALUES ($1, 'conversation.reopened', $2)",
                self.tenant,
                uuid.UUID(conversation_id),
            )
        return True

    async def sender_of(self, conversation_id: str) -> str | None:
        value: str | None = await self.pool.fetchval(
            "SELECT z.email FROM conversations c JOIN citizens z ON z.id = c.citizen_id WHERE c.id = $1",
            uuid.UUID(conversation_id),
        )
        return value
