"""Phone calls in the system of record: a call is recorded when it rings in (once per CallSid), while
the caller is in the phone menu (state ``arriving``), and joins its queue when its media stream starts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from channels.voice.numbers import uk_number
from contactd.identities import citizen_for
from contactd.records import CONVERSATION_SQL, Conversation, _conversation


@dataclass(frozen=True)
class Callback:
    """A caller waiting to be called back."""

    number: str
    """Theirs (E.164)."""
    called: str
    """The department's number they dialled: the call back comes from it."""
    sid: str | None
    """The outbound call's CallSid, once placed."""


class CallRecords:
    """Calls of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def ring(
        self, call_sid: str, caller: str, called: str = "", queue: str = "general"
    ) -> tuple[Conversation, bool]:
        """Record a call ringing in (the caller known again by number); (the call, whether it is new).

        Twilio retries a webhook it got no answer to: the second time finds the first call.
        """
        existing = await self.by_call_sid(call_sid)
        if existing is not None:
            return existing, False
        async with self.pool.acquire() as conn, conn.transaction():
            citizen = await citizen_for(conn, self.tenant, "phone", caller, caller)
            cid = await conn.fetchval(
                "INSERT INTO conversations"
                " (tenant_id, channel, queue_id, citizen_id, state, external_id, called_number, contact)"
                " SELECT $1, 'voice', q.id, $2, 'arriving', $3, $5, $6 FROM queues q"
                " WHERE q.tenant_id = $1 AND q.name = $4"
                " ON CONFLICT (tenant_id, channel, external_id) DO NOTHING RETURNING id",
                self.tenant,
                citizen,
                call_sid,
                queue,
                called or None,
                caller,
            )
            if cid is not None:
                await conn.execute(
                    "INSERT INTO events (tenant_id, type, conversation_id, data) VALUES"
                    " ($1, 'conversation.arrived', $2, jsonb_build_object('channel', 'voice', 'queue', $3::text))",
                    self.tenant,
                    cid,
                    queue,
                )
        found = await self.by_call_sid(call_sid)
        assert found is not None, "a call just recorded (or recorded by a retry at the same moment)"
        return found, cid is not None

    async def by_call_sid(self, call_sid: str) -> Conversation | None:
        row = await self.pool.fetchrow(
            CONVERSATION_SQL + " WHERE c.tenant_id = $1 AND c.channel = 'voice' AND c.external_id = $2",
            self.tenant,
            call_sid,
        )
        return _conversation(row) if row else None

    async def choose(self, call_sid: str, *, language: str | None = None, queue: str | None = None) -> None:
        """The caller's menu choice (language, then topic), while the call is still in the menu."""
        await self.pool.execute(
            "UPDATE conversations c SET language = coalesce($3, c.language),"
            " queue_id = coalesce((SELECT id FROM queues WHERE tenant_id = $1 AND name = $4 AND active), c.queue_id)"
            " WHERE c.tenant_id = $1 AND c.channel = 'voice' AND c.external_id = $2 AND c.state = 'arriving'",
            self.tenant,
            call_sid,
            language,
            queue,
        )

    async def start(self, conversation_id: str) -> bool:
        """The call's media stream started: it waits in its queue from now. False if it was not in the menu."""
        done: str = await self.pool.execute(
            "UPDATE conversations SET state = 'queued', queued_at = now() WHERE id = $1 AND state = 'arriving'",
            uuid.UUID(conversation_id),
        )
        return done.endswith(" 1")

    async def callable_number(self, conversation_id: str) -> str | None:
        """The caller's number, if it is one we may call back at the department's cost (``uk_number``)."""
        phone = await self.pool.fetchval(
            "SELECT coalesce(c.contact, z.phone) FROM conversations c JOIN citizens z ON z.id = c.citizen_id"
            " WHERE c.id = $1",
            uuid.UUID(conversation_id),
        )
        return uk_number(phone) if isinstance(phone, str) else None

    async def request_callback(self, conversation_id: str) -> str | None:
        """A waiting caller chose to be called back on their number, keeping their place; the number,
        or None if the call no longer waits (an adviser is being offered it) or we may not call it."""
        number = await self.callable_number(conversation_id)
        if number is None:
            return None
        done: str = await self.pool.execute(
            "UPDATE conversations SET callback_number = $2 WHERE id = $1 AND channel = 'voice' AND state = 'queued'",
            uuid.UUID(conversation_id),
            number,
        )
        return number if done.endswith(" 1") else None

    async def callback(self, conversation_id: str) -> Callback | None:
        """The call back a conversation waits for, if it is one."""
        row = await self.pool.fetchrow(
            "SELECT callback_number, called_number, callback_sid FROM conversations"
            " WHERE id = $1 AND callback_number IS NOT NULL",
            uuid.UUID(conversation_id),
        )
        return Callback(row["callback_number"], row["called_number"] or "", row["callback_sid"]) if row else None

    async def chat_to_callback(self, conversation_id: str, number: str) -> bool:
        """A waiting chat becomes a call back to ``number`` (its place kept); False if it no longer waits."""
        async with self.pool.acquire() as conn, conn.transaction():
            done: str = await conn.execute(
                "UPDATE conversations SET channel = 'voice', callback_number = $2"
                " WHERE id = $1 AND channel = 'chat' AND state IN ('queued', 'offered')",
                uuid.UUID(conversation_id),
                number,
            )
            if not done.endswith(" 1"):
                return False
            await conn.execute(
                "INSERT INTO events (tenant_id, type, conversation_id, data) VALUES"
                " ($1, 'callback.requested', $2, jsonb_build_object('from', 'chat', 'number_ends', $3::text))",
                self.tenant,
                uuid.UUID(conversation_id),
                number[-4:],
            )
        return True

    async def placed(self, conversation_id: str, call_sid: str) -> None:
        """The call back was placed through Twilio as ``call_sid``."""
        await self.pool.execute(
            "UPDATE conversations SET callback_sid = $2 WHERE id = $1", uuid.UUID(conversation_id), call_sid
        )

    async def by_callback_sid(self, call_sid: str) -> Conversation | None:
        row = await self.pool.fetchrow(
            CONVERSATION_SQL + " WHERE c.tenant_id = $1 AND c.channel = 'voice' AND c.callback_sid = $2",
            self.tenant,
            call_sid,
        )
        return _conversation(row) if row else None

    async def recorded(self, conversation_id: str, path: str) -> None:
        """The call is being recorded to ``path`` (under the data directory)."""
        await self.pool.execute(
            "UPDATE conversations SET recording = $2 WHERE id = $1", uuid.UUID(conversation_id), path
        )

    async def hung_up_in_menu(self, call_sid: str) -> bool:
        """The caller hung up before reaching a queue: the call is recorded as abandoned."""
        done: str = await self.pool.execute(
            "UPDATE conversations SET state = 'abandoned', ended_at = now(), ended_by = 'citizen', closed_at = now()"
            " WHERE tenant_id = $1 AND channel = 'voice' AND external_id = $2 AND state = 'arriving'"
            " AND callback_number IS NULL",
            self.tenant,
            call_sid,
        )
        return done.endswith(" 1")

    async def callback_when_open(self, call_sid: str, opens_at: datetime) -> str | None:
        """A caller who rang while the line was closed asks to be called back when it opens: the call
        waits until ``opens_at``, then joins its queue. The number to call, or None if we cannot."""
        conv = await self.by_call_sid(call_sid)
        number = await self.callable_number(conv.id) if conv else None
        if number is None:
            return None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE conversations c SET state = 'arriving', callback_number = $4, callback_at = $3,"
                " ended_at = NULL, ended_by = NULL, closed_at = NULL"
                " WHERE c.tenant_id = $1 AND c.channel = 'voice' AND c.external_id = $2 AND c.state = 'closed'"
                " RETURNING c.id, c.callback_number",
                self.tenant,
                call_sid,
                opens_at,
                number,
            )
            if row is None:
                return None
            await conn.execute(
                "INSERT INTO events (tenant_id, type, conversation_id, data) VALUES"
                " ($1, 'callback.requested', $2, jsonb_build_object('at', $3::text))",
                self.tenant,
                row["id"],
                opens_at.isoformat(),
            )
        return number

    async def callbacks_due(self) -> list[str]:
        """Calls back asked for while the line was closed whose time has come."""
        rows = await self.pool.fetch(
            "SELECT id::text FROM conversations WHERE tenant_id = $1 AND state = 'arriving'"
            " AND callback_at IS NOT NULL AND callback_at <= now() ORDER BY callback_at LIMIT 100",
            self.tenant,
        )
        return [r["id"] for r in rows]
