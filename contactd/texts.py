"""Text messages (SMS) in the system of record: a citizen known by number, their open text conversation,
their opt-out, and how far each of our texts got."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from contactd.identities import citizen_for
from contactd.records import CONVERSATION_SQL, Conversation, _conversation


class TextRecords:
    """SMS of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def citizen(self, number: str) -> tuple[uuid.UUID, bool]:
        """The citizen with this number (created the first time they text); (id, opted out of texts)."""
        async with self.pool.acquire() as conn:
            citizen = await citizen_for(conn, self.tenant, "phone", number, number)
            opted_out: bool = await conn.fetchval("SELECT sms_opted_out FROM citizens WHERE id = $1", citizen)
        return citizen, opted_out

    async def opt(self, citizen_id: uuid.UUID, out: bool) -> None:
        """Record a STOP (``out``) or START from the citizen."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("UPDATE citizens SET sms_opted_out = $2 WHERE id = $1", citizen_id, out)
            await conn.execute(
                "INSERT INTO events (tenant_id, type, data) VALUES ($1, $2, jsonb_build_object('citizen', $3::text))",
                self.tenant,
                "sms.opted_out" if out else "sms.opted_in",
                str(citizen_id),
            )

    async def open_conversation(self, citizen_id: uuid.UUID) -> Conversation | None:
        """The citizen's text conversation still open (waiting or with an adviser), if any."""
        row = await self.pool.fetchrow(
            CONVERSATION_SQL + " WHERE c.tenant_id = $1 AND c.citizen_id = $2 AND c.channel = 'sms'"
            " AND c.state IN ('queued', 'offered', 'assigned') ORDER BY c.created_at DESC LIMIT 1",
            self.tenant,
            citizen_id,
        )
        return _conversation(row) if row else None

    async def recipient(self, conversation_id: str) -> dict[str, Any]:
        """Who a text in this conversation goes to: their number, whether they opted out, our number."""
        row = await self.pool.fetchrow(
            "SELECT coalesce(c.contact, z.phone) AS phone, z.sms_opted_out, c.called_number FROM conversations c"
            " JOIN citizens z ON z.id = c.citizen_id WHERE c.id = $1",
            uuid.UUID(conversation_id),
        )
        return dict(row) if row else {}

    async def called(self, conversation_id: str, number: str, contact: str) -> None:
        """The department's number the citizen texted (our replies come from it), and theirs (they go to it)."""
        await self.pool.execute(
            "UPDATE conversations SET called_number = coalesce($2, called_number), contact = $3 WHERE id = $1",
            uuid.UUID(conversation_id),
            number[:40] or None,
            contact,
        )

    async def sent(self, conversation_id: str, client_id: str, sid: str | None, delivery: str) -> None:
        await self.pool.execute(
            "UPDATE messages SET external_id = coalesce($3, external_id), delivery = $4"
            " WHERE conversation_id = $1 AND sender = 'agent' AND client_id = $2",
            uuid.UUID(conversation_id),
            client_id,
            sid,
            delivery,
        )

    async def message_by_sid(self, sid: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            "SELECT m.conversation_id::text, m.client_id, m.delivery, m.agent_id FROM messages m"
            " JOIN conversations c ON c.id = m.conversation_id WHERE c.tenant_id = $1 AND m.external_id = $2",
            self.tenant,
            sid,
        )
        return dict(row) if row else None
