"""The system of record in PostgreSQL (asyncpg): every write a citizen or agent depends on.

Each state change writes the conversation row and an ``events`` row in one
transaction, so the audit log never disagrees with the state. Routing receipts
are the exception: they are state nobody reads at once, so they go to the
``EventLog`` and are written behind, in batches (``receipt_later``). Every
method here that appends an event at once, or reads events, first awaits the
log's flush, so a conversation's events keep their order (events are read
ORDER BY id).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contactd.errors import NotFound
from contactd.eventlog import EventLog
from contactd.records import CONVERSATION_SQL, MESSAGE_SQL, Conversation, Message, _conversation, token_hash


class Store:
    """PostgreSQL access for one tenant; routing receipts go through ``eventlog``, which its owner starts and closes."""

    def __init__(self, pool: asyncpg.Pool, tenant: str, eventlog: EventLog) -> None:
        self.pool = pool
        self.tenant = tenant
        self.eventlog = eventlog

    # --- queues ----------------------------------------------------------------------

    async def queues(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT name, display_name, display_name_cy FROM queues WHERE tenant_id = $1 AND active"
            " ORDER BY priority DESC, name",
            self.tenant,
        )
        return [dict(r) for r in rows]

    async def queue_id(self, name: str) -> int:
        """The id of an active queue; NotFound otherwise."""
        queue_id: int | None = await self.pool.fetchval(
            "SELECT id FROM queues WHERE tenant_id = $1 AND name = $2 AND active", self.tenant, name
        )
        if queue_id is None:
            raise NotFound(f"There is no queue named {name!r}.")
        return queue_id

    # --- conversations ---------------------------------------------------------------

    async def create_conversation(
        self,
        *,
        channel: str,
        queue: str,
        name: str,
        language: str,
        resume_token: str | None = None,
        citizen_id: uuid.UUID | None = None,
    ) -> Conversation:
        """Record a new contact and its citizen (a new one unless ``citizen_id`` names them); raises
        NotFound for an unknown queue."""
        # Looked up before taking a connection for the transaction: holding one
        # connection while waiting for a second deadlocks a busy pool.
        # No eventlog flush: a conversation created here has no receipt queued yet.
        queue_id = await self.queue_id(queue)
        async with self.pool.acquire() as conn, conn.transaction():
            citizen = citizen_id or await conn.fetchval(
                "INSERT INTO citizens (tenant_id, display_name, language) VALUES ($1, $2, $3) RETURNING id",
                self.tenant,
                name,
                language,
            )
            row = await conn.fetchrow(
                "INSERT INTO conversations (tenant_id, channel, queue_id, citizen_id, state, language,"
                " resume_token_hash) VALUES ($1, $2, $3, $4, 'queued', $5, $6) RETURNING id, queued_at",
                self.tenant,
                channel,
                queue_id,
                citizen,
                language,
                token_hash(resume_token) if resume_token else None,
            )
            await self._event(conn, "conversation.arrived", row["id"], None, {"channel": channel, "queue": queue})
        return Conversation(str(row["id"]), channel, queue, "queued", name, language, 0, None, row["queued_at"])

    async def conversation(self, conversation_id: str) -> Conversation:
        try:
            cid = uuid.UUID(conversation_id)
        except ValueError:
            raise NotFound("no such conversation") from None
        row = await self.pool.fetchrow(CONVERSATION_SQL + " WHERE c.id = $1 AND c.tenant_id = $2", cid, self.tenant)
        if row is None:
            raise NotFound("no such conversation")
        return _conversation(row)

    async def conversation_by_resume(self, resume_token: str) -> Conversation | None:
        row = await self.pool.fetchrow(
            CONVERSATION_SQL + " WHERE c.resume_token_hash = $1 AND c.tenant_id = $2",
            token_hash(resume_token),
            self.tenant,
        )
        return _conversation(row) if row else None

    async def live_conversations(self) -> list[Conversation]:
        """Conversations not yet closed, oldest first (to rebuild Redis)."""
        rows = await self.pool.fetch(
            CONVERSATION_SQL + " WHERE c.tenant_id = $1 AND c.state IN ('queued', 'offered', 'assigned', 'wrapup')"
            " ORDER BY c.queued_at",
            self.tenant,
        )
        return [_conversation(r) for r in rows]

    async def assigned_to(self, agent_id: int) -> list[Conversation]:
        rows = await self.pool.fetch(
            CONVERSATION_SQL + " WHERE c.tenant_id = $1 AND c.agent_id = $2 AND c.state IN ('assigned', 'wrapup')"
            " ORDER BY c.assigned_at",
            self.tenant,
            agent_id,
        )
        return [_conversation(r) for r in rows]

    async def add_message(
        self, conversation_id: str, sender: str, client_id: str, text: str, agent_id: int | None = None
    ) -> tuple[Message, bool]:
        """Store a message once per (sender, client id); returns it and whether it is new."""
        cid = uuid.UUID(conversation_id)
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO messages (conversation_id, sender, client_id, agent_id, body) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (conversation_id, sender, client_id) DO NOTHING RETURNING created_at",
                cid,
                sender,
                client_id,
                agent_id,
                text,
            )
            if row is not None:
                return Message(client_id, sender, text, row["created_at"]), True
            old = await conn.fetchrow(
                "SELECT body, created_at FROM messages WHERE conversation_id = $1 AND sender = $2 AND client_id = $3",
                cid,
                sender,
                client_id,
            )
        return Message(client_id, sender, old["body"], old["created_at"]), False

    async def serves_citizen_of(self, agent_id: int, conversation_id: str) -> bool:
        """Is the adviser serving, now, the citizen of this (earlier) conversation? Then it is in their history."""
        found = await self.pool.fetchval(
            "SELECT 1 FROM conversations c JOIN conversations o ON o.citizen_id = c.citizen_id"
            " WHERE c.id = $1 AND o.agent_id = $2 AND o.state IN ('assigned', 'wrapup') LIMIT 1",
            uuid.UUID(conversation_id),
            agent_id,
        )
        return found is not None

    async def transcript(self, conversation_id: str) -> list[Message]:
        """A conversation's messages, each with its subject, status and files."""
        rows = await self.pool.fetch(
            MESSAGE_SQL + " WHERE m.conversation_id = $1 ORDER BY m.id", uuid.UUID(conversation_id)
        )
        return [Message.from_row(r) for r in rows]

    async def message(self, conversation_id: str, sender: str, client_id: str) -> Message:
        """One message as the transcript shows it (with its subject, status and files)."""
        row = await self.pool.fetchrow(
            MESSAGE_SQL + " WHERE m.conversation_id = $1 AND m.sender = $2 AND m.client_id = $3",
            uuid.UUID(conversation_id),
            sender,
            client_id,
        )
        return Message.from_row(row)

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        """A conversation's audit events, oldest first, including the receipts still queued in this node."""
        await self.eventlog.flush()
        rows = await self.pool.fetch(
            "SELECT at, type, agent_id, data FROM events WHERE conversation_id = $1 ORDER BY id",
            uuid.UUID(conversation_id),
        )
        return [
            {
                "at": r["at"].isoformat(),
                "type": r["type"],
                "agent_id": r["agent_id"],
                "data": json.loads(r["data"]),
            }
            for r in rows
        ]

    async def routing_rows(
        self, conversation_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], dict[int, str]]:
        """What a routing receipt is made of: the conversation, its events and offers, and agents' names."""
        cid = uuid.UUID(conversation_id)
        await self.eventlog.flush()
        conv = await self.pool.fetchrow(
            "SELECT c.id::text, c.channel, q.name AS queue, c.state, c.queued_at, c.assigned_at"
            " FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.id = $1",
            cid,
        )
        events = [
            {**dict(r), "data": json.loads(r["data"])}
            for r in await self.pool.fetch(
                "SELECT at, type, agent_id, data FROM events WHERE conversation_id = $1 ORDER BY id", cid
            )
        ]
        offers = [
            dict(r)
            for r in await self.pool.fetch(
                "SELECT agent_id, outcome, decided_at FROM offers WHERE conversation_id = $1 ORDER BY id", cid
            )
        ]
        names = {
            r["id"]: r["display_name"]
            for r in await self.pool.fetch("SELECT id, display_name FROM users WHERE tenant_id = $1", self.tenant)
        }
        return dict(conv), events, offers, names

    async def last_transfer(self, conversation_id: str) -> dict[str, Any] | None:
        """Who last transferred the conversation, to where, and why (None if never)."""
        data = await self.pool.fetchval(
            "SELECT data FROM events WHERE conversation_id = $1 AND type = 'conversation.transferred'"
            " ORDER BY id DESC LIMIT 1",
            uuid.UUID(conversation_id),
        )
        return json.loads(data) if data else None

    # --- state changes (conversation row + audit event in one transaction) ---------------

    async def transition(
        self,
        conversation_id: str,
        event: str,
        *,
        actor: int | None = None,
        data: Mapping[str, Any] | None = None,
        **changes: Any,
    ) -> None:
        """Apply ``changes`` to the conversation row and append ``event`` (by agent ``actor``), atomically."""
        cid = uuid.UUID(conversation_id)
        sets, args = _set_clause(changes, first_arg=3)
        await self.eventlog.flush()
        async with self.pool.acquire() as conn, conn.transaction():
            if sets:
                await conn.execute(
                    f"UPDATE conversations SET {sets} WHERE id = $1 AND tenant_id = $2",
                    cid,
                    self.tenant,
                    *args,
                )
            await self._event(conn, event, cid, actor, dict(data or {}))

    async def record_offer(
        self,
        conversation_id: str,
        agent_id: int,
        expires_in_s: float,
        receipt: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        """Record the offer and the conversation's state at once; queue its ``routing.offered`` receipt.

        The offer row and the state are read as soon as the agent answers, so
        they are committed here; the receipt, stamped ``at`` (the decision, by
        default now), is written behind by the event log.
        """
        at = at or datetime.now(UTC)
        cid = uuid.UUID(conversation_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO offers (conversation_id, agent_id, offered_at, expires_at)"
                " VALUES ($1, $2, now(), now() + make_interval(secs => $3))",
                cid,
                agent_id,
                expires_in_s,
            )
            await conn.execute("UPDATE conversations SET state = 'offered' WHERE id = $1 AND state = 'queued'", cid)
        await self.eventlog.put("routing.offered", cid, agent_id, receipt, at)

    async def receipt_later(
        self,
        type_: str,
        *,
        conversation_id: str,
        agent_id: int | None = None,
        data: Mapping[str, Any],
        at: datetime | None = None,
    ) -> None:
        """Queue a routing receipt (``routing.waiting``, ...) decided at ``at`` (default now), written behind.

        Returns at once unless the event log's buffer is full, when it waits for
        PostgreSQL to take rows. ValueError or TypeError for data no column can hold.
        """
        await self.eventlog.put(type_, conversation_id, agent_id, data, at or datetime.now(UTC))

    async def offer_outcome(self, conversation_id: str, agent_id: int, outcome: str) -> None:
        """Close the open offer with ``outcome`` and move the conversation on."""
        cid = uuid.UUID(conversation_id)
        await self.eventlog.flush()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE offers SET outcome = $3, decided_at = now()"
                " WHERE conversation_id = $1 AND agent_id = $2 AND outcome IS NULL",
                cid,
                agent_id,
                outcome,
            )
            if outcome == "accepted":
                await conn.execute(
                    "UPDATE conversations SET state = 'assigned', agent_id = $2, assigned_at = now() WHERE id = $1",
                    cid,
                    agent_id,
                )
            elif outcome in ("rejected", "timeout", "withdrawn"):
                await conn.execute("UPDATE conversations SET state = 'queued' WHERE id = $1 AND state = 'offered'", cid)
            await self._event(conn, f"offer.{outcome}", cid, agent_id, {})

    async def event(
        self,
        type_: str,
        *,
        conversation_id: str | None = None,
        agent_id: int | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one audit event now, after the receipts queued before it."""
        await self.eventlog.flush()
        async with self.pool.acquire() as conn:
            cid = uuid.UUID(conversation_id) if conversation_id else None
            await self._event(conn, type_, cid, agent_id, dict(data or {}))

    async def _event(
        self,
        conn: asyncpg.Connection,
        type_: str,
        cid: uuid.UUID | None,
        agent_id: int | None,
        data: dict[str, Any],
    ) -> None:
        await conn.execute(
            "INSERT INTO events (tenant_id, type, conversation_id, agent_id, data) VALUES ($1, $2, $3, $4, $5)",
            self.tenant,
            type_,
            cid,
            agent_id,
            json.dumps(data),
        )


def _set_clause(changes: Mapping[str, Any], first_arg: int) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for column, value in changes.items():
        if value == "now()":
            parts.append(f"{column} = now()")
            continue
        parts.append(f"{column} = ${first_arg + len(args)}")
        args.append(value)
    return ", ".join(parts), args
