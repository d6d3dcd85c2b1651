"""Returning citizens: knowing a citizen again, and the adviser they spoke to last.

A web-chat citizen is known again only if they asked their device to be
remembered: their browser then keeps a random key and sends it with
``chat.start``; only its hash is stored. (Phone and SMS citizens will be known
by number, email citizens by address.) Routing then tries the adviser of their
last conversation first (``router`` reservations, rule "previous agent").
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import asyncpg


def key_hash(key: str) -> bytes:
    """What is stored of a citizen's device key."""
    return hashlib.sha256(key.encode()).digest()


class Returning:
    """Returning citizens of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def citizen(self, key: str, name: str, language: str) -> uuid.UUID:
        """The citizen whose device holds ``key`` (created the first time), with the name and language they give now."""
        found: uuid.UUID = await self.pool.fetchval(
            "INSERT INTO citizens (tenant_id, display_name, language, key_hash) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (tenant_id, key_hash) WHERE key_hash IS NOT NULL"
            " DO UPDATE SET display_name = EXCLUDED.display_name, language = EXCLUDED.language RETURNING id",
            self.tenant,
            name,
            language,
            key_hash(key),
        )
        return found

    async def previous_agent(self, conversation_id: str, days: int) -> int | None:
        """The active adviser who took this citizen's latest other conversation within ``days``, if any."""
        if days <= 0:
            return None
        agent: int | None = await self.pool.fetchval(
            "SELECT p.agent_id FROM conversations c"
            " JOIN conversations p ON p.citizen_id = c.citizen_id AND p.id <> c.id"
            " JOIN users u ON u.id = p.agent_id AND u.active AND u.role = 'agent'"
            " WHERE c.id = $1 AND c.tenant_id = $2 AND p.agent_id IS NOT NULL"
            " AND p.assigned_at > now() - make_interval(days => $3)"
            " ORDER BY p.assigned_at DESC LIMIT 1",
            uuid.UUID(conversation_id),
            self.tenant,
            days,
        )
        return agent

    async def served(self, citizen_id: uuid.UUID) -> list[tuple[str, int]]:
        """The citizen's conversations with an adviser now: (conversation id, adviser id)."""
        rows = await self.pool.fetch(
            "SELECT id::text, agent_id FROM conversations WHERE citizen_id = $1 AND tenant_id = $2"
            " AND state IN ('assigned', 'wrapup') AND agent_id IS NOT NULL",
            citizen_id,
            self.tenant,
        )
        return [(r["id"], r["agent_id"]) for r in rows]

    async def history(self, conversation_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The citizen's other conversations, latest first, on every channel: what the adviser sees of
        their earlier contacts (the citizen is one record whether they called, texted or chatted)."""
        rows = await self.pool.fetch(
            "SELECT p.id::text AS id, p.channel, q.name AS queue, p.state, p.queued_at, u.display_name AS agent"
            " FROM conversations c JOIN conversations p ON p.citizen_id = c.citizen_id AND p.id <> c.id"
            " JOIN queues q ON q.id = p.queue_id LEFT JOIN users u ON u.id = p.agent_id"
            " WHERE c.id = $1 AND c.tenant_id = $2 ORDER BY p.queued_at DESC LIMIT $3",
            uuid.UUID(conversation_id),
            self.tenant,
            limit,
        )
        return [{**dict(r), "queued_at": r["queued_at"].isoformat().replace("+00:00", "Z")} for r in rows]
