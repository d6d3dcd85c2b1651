"""One citizen, one timeline: citizen records and the verified numbers and addresses that lead to them.

A caller's or texter's number, a mail's sender, and a number a chat citizen proved with a code each
belong to one record, so every contact from them joins that citizen's timeline. Supervisors merge two
records that are one person, and split conversations off a record that are not; both are audited.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from contactd.errors import Conflict, NotFound

KINDS = ("phone", "email")


@dataclass(frozen=True)
class Merged:
    """What a merge moved."""

    conversations: int
    identities: list[str]


async def citizen_for(conn: asyncpg.Connection, tenant: str, kind: str, value: str, name: str) -> uuid.UUID:
    """The citizen this number or address belongs to, created (with ``name``) the first time it is seen.
    Safe when two contacts from a new number arrive at once: one record wins, both use it."""
    assert kind in KINDS
    for _ in range(5):
        # FOR SHARE: a merge of that record waits for this contact to be recorded, or this waits for the
        # merge and then sees the record merged away and looks again (the number has moved with it).
        found: uuid.UUID | None = await conn.fetchval(
            "SELECT z.id FROM citizen_identities i JOIN citizens z ON z.id = i.citizen_id"
            " WHERE i.tenant_id = $1 AND i.kind = $2 AND i.value = $3 AND z.merged_into IS NULL FOR SHARE OF z",
            tenant,
            kind,
            value,
        )
        if found is not None:
            return found
        if not await conn.fetchval(
            "SELECT 1 FROM citizen_identities WHERE tenant_id = $1 AND kind = $2 AND value = $3", tenant, kind, value
        ):
            break
    async with conn.transaction():  # a savepoint when called inside a transaction
        column = "phone" if kind == "phone" else "email"
        new: uuid.UUID = await conn.fetchval(
            f"INSERT INTO citizens (tenant_id, display_name, {column}) VALUES ($1, $2, $3) RETURNING id",
            tenant,
            name,
            value,
        )
        won: uuid.UUID | None = await conn.fetchval(
            "INSERT INTO citizen_identities (tenant_id, kind, value, citizen_id) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT DO NOTHING RETURNING citizen_id",
            tenant,
            kind,
            value,
            new,
        )
        if won is not None:
            return won
        await conn.execute("DELETE FROM citizens WHERE id = $1", new)
    other: uuid.UUID = await conn.fetchval(
        "SELECT citizen_id FROM citizen_identities WHERE tenant_id = $1 AND kind = $2 AND value = $3",
        tenant,
        kind,
        value,
    )
    return other


class CitizenRecords:
    """Citizen records of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def find(self, kind: str, value: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(
            "SELECT citizen_id FROM citizen_identities WHERE tenant_id = $1 AND kind = $2 AND value = $3",
            self.tenant,
            kind,
            value,
        )
        return await self.record(row["citizen_id"]) if row else None

    async def record(self, citizen_id: uuid.UUID) -> dict[str, Any]:
        """A citizen record: name, language, numbers and addresses, and conversations (latest first)."""
        row = await self.pool.fetchrow(
            "SELECT id::text, display_name AS name, language, merged_into::text, created_at FROM citizens"
            " WHERE id = $1 AND tenant_id = $2",
            citizen_id,
            self.tenant,
        )
        if row is None:
            raise NotFound("No such citizen.")
        ids = await self.pool.fetch(
            "SELECT kind, value FROM citizen_identities WHERE citizen_id = $1 ORDER BY kind, value", citizen_id
        )
        convs = await self.pool.fetch(
            "SELECT c.id::text, c.channel, q.name AS queue, c.state, c.queued_at FROM conversations c"
            " JOIN queues q ON q.id = c.queue_id WHERE c.citizen_id = $1 ORDER BY c.queued_at DESC",
            citizen_id,
        )
        return {
            **{k: v for k, v in dict(row).items() if k != "created_at"},
            "created_at": row["created_at"].isoformat(),
            "phones": [r["value"] for r in ids if r["kind"] == "phone"],
            "emails": [r["value"] for r in ids if r["kind"] == "email"],
            "conversations": [{**dict(c), "queued_at": c["queued_at"].isoformat()} for c in convs],
        }

    async def _live(self, conn: asyncpg.Connection, citizen_id: uuid.UUID) -> bool:
        found = await conn.fetchval(
            "SELECT 1 FROM citizens WHERE id = $1 AND tenant_id = $2 AND merged_into IS NULL FOR UPDATE",
            citizen_id,
            self.tenant,
        )
        return found is not None

    async def merge(self, into: uuid.UUID, other: uuid.UUID, actor: int | None, reason: str | None = None) -> Merged:
        """Make ``other`` part of ``into``: its conversations, numbers and addresses move; it points at ``into``."""
        if into == other:
            raise Conflict("A record cannot be merged into itself.")
        async with self.pool.acquire() as conn, conn.transaction():
            for cid in sorted((into, other)):  # lock both in one order: two merges never deadlock
                if not await self._live(conn, cid):
                    raise NotFound("No such citizen (or it was merged into another).")
            moved = await conn.execute("UPDATE conversations SET citizen_id = $1 WHERE citizen_id = $2", into, other)
            ids = await conn.fetch(
                "UPDATE citizen_identities SET citizen_id = $1 WHERE citizen_id = $2 RETURNING kind, value", into, other
            )
            # Clear the merged record first: its device key is unique, so it can move only once freed.
            was = await conn.fetchrow(
                "UPDATE citizens n SET merged_into = $1, key_hash = NULL, phone = NULL, email = NULL"
                " FROM citizens o WHERE n.id = $2 AND o.id = n.id"
                " RETURNING o.phone, o.email, o.key_hash, o.sms_opted_out",
                into,
                other,
            )
            await conn.execute(
                "UPDATE citizens SET phone = coalesce(phone, $2), email = coalesce(email, $3),"
                " key_hash = coalesce(key_hash, $4), sms_opted_out = sms_opted_out OR $5 WHERE id = $1",
                into,
                was["phone"],
                was["email"],
                was["key_hash"],
                was["sms_opted_out"],
            )
            merged = Merged(int(moved.split()[-1]), [f"{r['kind']}:{r['value']}" for r in ids])
            data = {"into": str(into), "from": str(other), "by": actor, "reason": reason}
            await self._audit(conn, "citizen.merged", {**data, "conversations": merged.conversations})
        return merged

    async def split(
        self,
        citizen_id: uuid.UUID,
        conversations: list[uuid.UUID],
        identities: list[tuple[str, str]],
        actor: int | None,
    ) -> uuid.UUID:
        """Move ``conversations`` (and the numbers/addresses ``identities``) of a record to a new record: the
        contacts of someone else, put together by mistake. The new record's id."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await self._live(conn, citizen_id):
                raise NotFound("No such citizen (or it was merged into another).")
            mine = {r["id"] for r in await conn.fetch("SELECT id FROM conversations WHERE citizen_id = $1", citizen_id)}
            if not conversations or not set(conversations) <= mine:
                raise Conflict("Name one or more of this record's own conversations to split off.")
            if set(conversations) == mine:
                raise Conflict("A split must leave the record at least one conversation.")
            new: uuid.UUID = await conn.fetchval(
                "INSERT INTO citizens (tenant_id, display_name, language, sms_opted_out)"
                " SELECT tenant_id, display_name, language, sms_opted_out FROM citizens WHERE id = $1 RETURNING id",
                citizen_id,
            )
            await conn.execute(
                "UPDATE conversations SET citizen_id = $1 WHERE id = ANY($2::uuid[])", new, conversations
            )
            for kind, value in identities:
                done = await conn.execute(
                    "UPDATE citizen_identities SET citizen_id = $1 WHERE citizen_id = $2 AND kind = $3 AND value = $4",
                    new,
                    citizen_id,
                    kind,
                    value,
                )
                if not done.endswith(" 1"):
                    raise Conflict(f"This record has no {kind} {value!r}.")
            data = {"from": str(citizen_id), "to": str(new), "by": actor}
            await self._audit(conn, "citizen.split", {**data, "conversations": [str(c) for c in conversations]})
        return new

    async def link(self, conversation_id: str, kind: str, value: str) -> uuid.UUID:
        """A citizen proved a number or address in this conversation: its record and the one that number leads
        to become one (the conversation's record goes into the one already known by it). The record now."""
        async with self.pool.acquire() as conn:
            mine: uuid.UUID = await conn.fetchval(
                "SELECT citizen_id FROM conversations WHERE id = $1", uuid.UUID(conversation_id)
            )
            theirs: uuid.UUID = await conn.fetchval(
                "INSERT INTO citizen_identities (tenant_id, kind, value, citizen_id) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (tenant_id, kind, value) DO UPDATE SET kind = excluded.kind RETURNING citizen_id",
                self.tenant,
                kind,
                value,
                mine,
            )
            if theirs == mine:
                column = "phone" if kind == "phone" else "email"
                await conn.execute(f"UPDATE citizens SET {column} = coalesce({column}, $2) WHERE id = $1", mine, value)
                return mine
        await self.merge(theirs, mine, None, f"{kind} verified in conversation {conversation_id}")
        return theirs

    async def _audit(self, conn: asyncpg.Connection, type_: str, data: dict[str, Any]) -> None:
        await conn.execute(
            "INSERT INTO events (tenant_id, type, data) VALUES ($1, $2, $3::jsonb)",
            self.tenant,
            type_,
            json.dumps(data),
        )
