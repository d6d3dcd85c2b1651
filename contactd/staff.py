"""Staff in PostgreSQL: users, their sessions, and the skills that decide which queues they serve."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from contactd.store import token_hash
from router import model as routing_model

SESSION_TTL = timedelta(hours=12)


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
