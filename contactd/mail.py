"""Mail in the system of record: the department's addresses, and messages recorded once by Message-ID."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from channels.email.compose import new_reference
from contactd.identities import citizen_for
from contactd.records import Message
from contactd.store import Store


@dataclass(frozen=True)
class Mailbox:
    """One of the department's addresses: the queue its mail goes to and its acknowledgement texts."""

    address: str
    queue: str
    acknowledgement_en: str | None
    """None: the built-in text; '': none in this language."""
    acknowledgement_cy: str | None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Incoming:
    """What we keep of one citizen's mail."""

    message_id: str
    sender: str
    subject: str
    text: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Thread:
    """The conversation a reply belongs to."""

    conversation_id: str
    state: str
    sender: str
    """The citizen's address: only their own mail joins the conversation."""


class MailRecords:
    """Mail of one tenant."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pool = store.pool
        self.tenant = store.tenant

    async def mailbox(self, address: str) -> Mailbox | None:
        """The address of ours, or None when we take no mail for it."""
        row = await self.pool.fetchrow(
            "SELECT m.address, q.name, m.acknowledgement_en, m.acknowledgement_cy FROM mailboxes m"
            " JOIN queues q ON q.id = m.queue_id WHERE m.tenant_id = $1 AND m.address = $2 AND q.active",
            self.tenant,
            address.strip().strip("<>").lower(),
        )
        return Mailbox(*row) if row else None

    async def record(self, mail: Incoming, box: Mailbox) -> tuple[str, bool, str]:
        """A new contact from the citizen's message, once per Message-ID: (conversation id, whether new, reference)."""
        for _ in range(5):  # a new reference collides about once in a billion: try again then
            try:
                return await self._record(mail, box, new_reference())
            except asyncpg.UniqueViolationError as e:
                if e.constraint_name != "conversations_reference":
                    raise
        raise RuntimeError("no free case reference")

    async def _record(self, mail: Incoming, box: Mailbox, reference: str) -> tuple[str, bool, str]:
        async with self.pool.acquire() as conn, conn.transaction():
            citizen = await citizen_for(conn, self.tenant, "email", mail.sender, mail.sender)
            cid = await conn.fetchval(
                "INSERT INTO conversations (tenant_id, channel, queue_id, citizen_id, state, external_id, reference,"
                " mailbox, contact) SELECT $1, 'email', q.id, $2, 'queued', $3, $5, $6, $7 FROM queues q"
                " WHERE q.tenant_id = $1 AND q.name = $4"
                " ON CONFLICT (tenant_id, channel, external_id) DO NOTHING RETURNING id",
                self.tenant,
                citizen,
                mail.message_id[:300],
                box.queue,
                reference,
                box.address,
                mail.sender,
            )
            if cid is None:
                old = await conn.fetchrow(
                    "SELECT id::text, reference FROM conversations"
                    " WHERE tenant_id = $1 AND channel = 'email' AND external_id = $2",
                    self.tenant,
                    mail.message_id[:300],
                )
                return old["id"], False, old["reference"]
            await self._add(conn, cid, mail)
            await conn.execute(
                "INSERT INTO events (tenant_id, type, conversation_id, data) VALUES ($1, 'conversation.arrived', $2,"
                " jsonb_build_object('channel', 'email', 'queue', $3::text, 'reference', $4::text))",
                self.tenant,
                cid,
                box.queue,
                reference,
            )
        return str(cid), True, reference

    async def _add(self, conn: asyncpg.Connection, cid: uuid.UUID, mail: Incoming) -> int | None:
        """Store the citizen's message and its attachments, once by Message-ID; its row id, or None if known."""
        row_id: int | None = await conn.fetchval(
            "INSERT INTO messages (conversation_id, sender, client_id, body, external_id, subject)"
            " VALUES ($1, 'citizen', $2, $3, $2, $4) ON CONFLICT (conversation_id, sender, client_id) DO NOTHING"
            " RETURNING id",
            cid,
            mail.message_id[:300],
            mail.text or "(no text)",
            mail.subject or None,
        )
        if row_id is not None and mail.attachments:
            await conn.executemany(
                "INSERT INTO attachments (conversation_id, message_id, filename, content_type, size, data)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                [(cid, row_id, a.filename, a.content_type, len(a.data), a.data) for a in mail.attachments],
            )
        return row_id

    async def add_reply(self, conversation_id: str, mail: Incoming) -> Message | None:
        """The citizen's reply in its conversation, or None when it was recorded before."""
        async with self.pool.acquire() as conn, conn.transaction():
            row_id = await self._add(conn, uuid.UUID(conversation_id), mail)
        if row_id is None:
            return None
        return await self.store.message(conversation_id, "citizen", mail.message_id[:300])

    async def thread_of(self, references: list[str], reference: str | None) -> Thread | None:
        """The conversation a reply belongs to: one whose message (ours or theirs) it names, else its case reference."""
        row = None
        if references:
            row = await self.pool.fetchrow(
                "SELECT c.id::text, c.state, coalesce(c.contact, z.email) AS email"
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
                " JOIN citizens z ON z.id = c.citizen_id WHERE c.tenant_id = $1 AND c.channel = 'email'"
                " AND m.external_id = ANY($2::text[]) ORDER BY m.id DESC LIMIT 1",
                self.tenant,
                [r[:300] for r in references],
            )
        if row is None and reference is not None:
            row = await self.pool.fetchrow(
                "SELECT c.id::text, c.state, coalesce(c.contact, z.email) AS email"
                " FROM conversations c JOIN citizens z ON z.id = c.citizen_id"
                " WHERE c.tenant_id = $1 AND c.reference = $2 AND c.channel = 'email'",
                self.tenant,
                reference,
            )
        return Thread(row["id"], row["state"], row["email"] or "") if row else None

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

    async def attachment(self, attachment_id: int) -> asyncpg.Record | None:
        """A stored file and the advisers who may open it: the conversation's own, and any adviser
        holding a live conversation with the same citizen (it is in their history). Supervisors may too."""
        row: asyncpg.Record | None = await self.pool.fetchrow(
            "SELECT a.filename, a.content_type, a.data, a.conversation_id::text,"
            " array_append(array(SELECT o.agent_id FROM conversations o WHERE o.citizen_id = c.citizen_id"
            " AND o.state IN ('assigned', 'wrapup') AND o.agent_id IS NOT NULL),"
            " c.agent_id) AS advisers FROM attachments a JOIN conversations c ON c.id = a.conversation_id"
            " WHERE a.id = $1 AND c.tenant_id = $2",
            attachment_id,
            self.tenant,
        )
        return row

    async def mailboxes(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT m.address, q.name AS queue, m.acknowledgement_en, m.acknowledgement_cy FROM mailboxes m"
            " JOIN queues q ON q.id = m.queue_id WHERE m.tenant_id = $1 ORDER BY m.address",
            self.tenant,
        )
        return [dict(r) for r in rows]

    async def set_mailbox(self, address: str, queue: str, ack_en: str | None, ack_cy: str | None) -> bool:
        """Take mail for ``address`` into ``queue`` with these acknowledgements; False if there is no such queue."""
        done: str = await self.pool.execute(
            "INSERT INTO mailboxes (tenant_id, address, queue_id, acknowledgement_en, acknowledgement_cy)"
            " SELECT $1, $2, q.id, $4, $5 FROM queues q WHERE q.tenant_id = $1 AND q.name = $3"
            " ON CONFLICT (tenant_id, address) DO UPDATE SET queue_id = excluded.queue_id,"
            " acknowledgement_en = excluded.acknowledgement_en, acknowledgement_cy = excluded.acknowledgement_cy",
            self.tenant,
            address,
            queue,
            ack_en,
            ack_cy,
        )
        return done.endswith(" 1")

    async def remove_mailbox(self, address: str) -> bool:
        done: str = await self.pool.execute(
            "DELETE FROM mailboxes WHERE tenant_id = $1 AND address = $2", self.tenant, address
        )
        return done.endswith(" 1")
