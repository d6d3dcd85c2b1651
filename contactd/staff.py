"""Staff in PostgreSQL: users, their sessions, and the routing settings (skills, capacity, queue order) that decide
what they are offered."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from contactd.records import token_hash
from router import model as routing_model
from router.model import CHANNELS

SESSION_TTL = timedelta(hours=12)
MAX_CAPACITY = 50
"""Most contacts at once on one channel (the agent_capacity CHECK)."""
MAX_QUEUE_ORDER = 100
"""Most queues an adviser's routing profile may rank (the agent_queue_rank CHECK)."""
ROUTING_KEYS = ("capacity", "voice_exclusive", "queue_order")


@dataclass(frozen=True)
class User:
    """A member of staff."""

    id: int
    username: str
    name: str
    role: str
    password_hash: str

    def public(self) -> dict[str, Any]:
        """The fields the API shows (never the hash)."""
        return {"id": self.id, "name": self.name, "role": self.role}


def _user(row: Mapping[str, Any]) -> User:
    return User(row["id"], row["username"], row["display_name"], row["role"], row["password_hash"])


@dataclass(frozen=True)
class Profile:
    """What routes to an agent: their routing profile, derived from their skills."""

    queues: list[str]
    """Queues they serve, in the order they serve them."""
    levels: dict[str, int]
    """Their skill level for each queue (the lowest of the queue's required skills)."""
    capacity: dict[str, int]
    """Per-channel capacity overrides (the deployment's defaults fill the rest)."""
    short_of: dict[str, int] = field(default_factory=dict)
    """Queues they hold every skill for but fall short of the minimum level by this many levels."""
    voice_exclusive: bool = True
    """While on a voice call, no new work of any kind."""

    def routing(self, default_capacity: Mapping[str, int]) -> routing_model.Profile:
        """As routing takes it: the deployment's default capacity filled in under the overrides."""
        return routing_model.Profile(
            tuple(self.queues), {**default_capacity, **self.capacity}, self.levels, self.voice_exclusive, self.short_of
        )


@dataclass(frozen=True)
class RoutingChange:
    """A change to an adviser's routing settings; None leaves that setting as it is."""

    capacity: Mapping[str, int | None] | None = None
    """Channel -> most contacts at once (0-50); None for a channel removes its override (the default applies)."""
    voice_exclusive: bool | None = None
    """While on a voice call, no other work."""
    queue_order: tuple[str, ...] | None = None
    """Replaces their queue ranks, first first (rank 1); empty clears them."""

    @classmethod
    def parse(cls, body: Any) -> RoutingChange:
        """From ``{"capacity", "voice_exclusive", "queue_order"}`` (any of them); ValueError says what is wrong.

        Queue names are checked for form here; whether they name active queues is the caller's to check."""
        if not isinstance(body, dict) or not set(body) & set(ROUTING_KEYS):
            raise ValueError(
                'Send {"capacity": {"chat": 2, ...}, "voice_exclusive": false, "queue_order": ["general", ...]},'
                " any of them."
            )
        if unknown := sorted(set(body) - set(ROUTING_KEYS)):
            raise ValueError(f"Unknown field {_names(unknown)}: send capacity, voice_exclusive or queue_order.")
        exclusive = body.get("voice_exclusive")
        if "voice_exclusive" in body and not isinstance(exclusive, bool):
            raise ValueError("voice_exclusive must be true or false.")
        return cls(
            capacity=parse_capacity(body["capacity"]) if "capacity" in body else None,
            voice_exclusive=exclusive,
            queue_order=parse_queue_order(body["queue_order"]) if "queue_order" in body else None,
        )

    def public(self) -> dict[str, Any]:
        """The settings changed, as the API takes them."""
        out: dict[str, Any] = {}
        if self.capacity is not None:
            out["capacity"] = dict(self.capacity)
        if self.voice_exclusive is not None:
            out["voice_exclusive"] = self.voice_exclusive
        if self.queue_order is not None:
            out["queue_order"] = list(self.queue_order)
        return out


def _names(names: list[str]) -> str:
    return ", ".join(repr(n[:40]) for n in names[:10])


def parse_capacity(value: Any) -> dict[str, int | None]:
    """Per-channel capacities ``{"chat": 0-50 or null, ...}``; ValueError says what is wrong."""
    if not isinstance(value, dict):
        raise ValueError('capacity: send {"<channel>": <0-50, or null for the default>, ...}.')
    if unknown := sorted(set(value) - set(CHANNELS)):
        raise ValueError(f"capacity: no channel {_names(unknown)}; channels are {', '.join(CHANNELS)}.")
    for channel, n in value.items():
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_CAPACITY):
            raise ValueError(f"capacity: {channel} must be a whole number from 0 to {MAX_CAPACITY}, or null.")
    return dict(value)


def parse_queue_order(value: Any) -> tuple[str, ...]:
    """Queue names, first first, none twice, at most 100; ValueError says what is wrong."""
    if not isinstance(value, list) or not all(isinstance(q, str) and 0 < len(q) <= 100 for q in value):
        raise ValueError("queue_order: send a list of queue names, first first.")
    if len(value) > MAX_QUEUE_ORDER:
        raise ValueError(f"queue_order: at most {MAX_QUEUE_ORDER} queues.")
    if twice := sorted({q for n, q in enumerate(value) if q in value[:n]}):
        raise ValueError(f"queue_order: {_names(twice)} listed more than once.")
    return tuple(value)


class Staff:
    """Users of one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def user_by_username(self, username: str) -> User | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM users WHERE tenant_id = $1 AND username = $2 AND active", self.tenant, username
        )
        return _user(row) if row else None

    async def user_by_id(self, user_id: int) -> User | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM users WHERE tenant_id = $1 AND id = $2 AND active", self.tenant, user_id
        )
        return _user(row) if row else None

    async def last_status(self, user_id: int) -> str | None:
        """The status the agent last chose (from the audit log)."""
        value: str | None = await self.pool.fetchval(
            "SELECT data->>'status' FROM events WHERE tenant_id = $1 AND agent_id = $2 AND type = 'agent.status'"
            " ORDER BY id DESC LIMIT 1",
            self.tenant,
            user_id,
        )
        return value

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self.pool.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)

    async def create_session(self, user_id: int) -> str:
        """A new session; returns the cookie value (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        await self.pool.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3::interval)",
            token_hash(token),
            user_id,
            SESSION_TTL,
        )
        return token

    async def session_user(self, token: str) -> User | None:
        row = await self.pool.fetchrow(
            "SELECT u.* FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = $1 AND s.expires_at > now() AND u.active AND u.tenant_id = $2",
            token_hash(token),
            self.tenant,
        )
        return _user(row) if row else None

    async def end_session(self, token: str) -> None:
        await self.pool.execute("DELETE FROM sessions WHERE token_hash = $1", token_hash(token))

    async def agent_users(self) -> list[dict[str, Any]]:
        """Every active agent of the tenant: id and display name."""
        rows = await self.pool.fetch(
            "SELECT id, display_name FROM users WHERE tenant_id = $1 AND active"
            " AND role = 'agent' ORDER BY display_name",
            self.tenant,
        )
        return [dict(r) for r in rows]

    async def agent_profile(self, user_id: int) -> Profile:
        """What routes to the agent now: the queues whose every required skill they hold at the
        minimum level (in their profile's order), their level for each, the queues they fall short of by
        1-4 levels (for escalation steps that relax the minimum), capacities and the voice rule."""
        rows = await self.pool.fetch(
            """SELECT q.name, min(a.level) AS level,
                      max(greatest(qs.min_level - coalesce(a.level, -100), 0)) AS shortfall
               FROM queues q
               JOIN queue_skills qs ON qs.queue_id = q.id
               LEFT JOIN agent_skills a ON a.skill_id = qs.skill_id AND a.user_id = $1
               LEFT JOIN agent_queue_rank r ON r.queue_id = q.id AND r.user_id = $1
               WHERE q.tenant_id = $2 AND q.active
               GROUP BY q.id, q.name, q.priority, r.rank
               HAVING max(greatest(qs.min_level - coalesce(a.level, -100), 0)) <= 4
               ORDER BY r.rank NULLS LAST, q.priority DESC, q.name""",
            user_id,
            self.tenant,
        )
        queues = [r for r in rows if r["shortfall"] == 0]
        caps = await self.pool.fetch("SELECT channel, capacity FROM agent_capacity WHERE user_id = $1", user_id)
        exclusive = await self.pool.fetchval("SELECT voice_exclusive FROM users WHERE id = $1", user_id)
        return Profile(
            queues=[r["name"] for r in queues],
            levels={r["name"]: r["level"] for r in queues},
            short_of={r["name"]: r["shortfall"] for r in rows if r["shortfall"] > 0},
            capacity={r["channel"]: r["capacity"] for r in caps},
            voice_exclusive=exclusive is not False,
        )

    async def queue_order(self, user_id: int) -> list[str]:
        """The active queues an adviser's routing profile ranks, first first (as set, served or not)."""
        rows = await self.pool.fetch(
            "SELECT q.name FROM agent_queue_rank r JOIN queues q ON q.id = r.queue_id"
            " WHERE r.user_id = $1 AND q.tenant_id = $2 AND q.active ORDER BY r.rank, q.name",
            user_id,
            self.tenant,
        )
        return [r["name"] for r in rows]

    async def set_routing(self, user_id: int, change: RoutingChange) -> None:
        """Apply ``change`` to an adviser's routing settings, all or nothing (queue names not naming an
        active queue are left out of the ranks: the caller checks them first)."""
        async with self.pool.acquire() as conn, conn.transaction():
            for channel, capacity in (change.capacity or {}).items():
                if capacity is None:
                    await conn.execute(
                        "DELETE FROM agent_capacity WHERE user_id = $1 AND channel = $2", user_id, channel
                    )
                else:
                    await conn.execute(
                        "INSERT INTO agent_capacity (user_id, channel, capacity) VALUES ($1, $2, $3)"
                        " ON CONFLICT (user_id, channel) DO UPDATE SET capacity = EXCLUDED.capacity",
                        user_id,
                        channel,
                        capacity,
                    )
            if change.voice_exclusive is not None:
                await conn.execute(
                    "UPDATE users SET voice_exclusive = $3 WHERE tenant_id = $1 AND id = $2",
                    self.tenant,
                    user_id,
                    change.voice_exclusive,
                )
            if change.queue_order is not None:
                await conn.execute("DELETE FROM agent_queue_rank WHERE user_id = $1", user_id)
                await conn.execute(
                    "INSERT INTO agent_queue_rank (user_id, queue_id, rank)"
                    " SELECT $1, q.id, o.rank FROM unnest($3::text[]) WITH ORDINALITY AS o (name, rank)"
                    " JOIN queues q ON q.tenant_id = $2 AND q.name = o.name AND q.active",
                    user_id,
                    self.tenant,
                    list(change.queue_order),
                )

    async def set_skills(self, user_id: int, skills: Mapping[str, int]) -> None:
        """Replace an agent's skills (name -> level 1-5); unknown skill names are created."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM agent_skills WHERE user_id = $1", user_id)
            for name, level in skills.items():
                skill_id = await conn.fetchval(
                    "INSERT INTO skills (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name)"
                    " DO UPDATE SET name = EXCLUDED.name RETURNING id",
                    self.tenant,
                    name,
                )
                await conn.execute(
                    "INSERT INTO agent_skills (user_id, skill_id, level) VALUES ($1, $2, $3)", user_id, skill_id, level
                )
