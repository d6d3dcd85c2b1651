"""Staff in PostgreSQL: users, their sessions, and the skills that decide which queues they serve."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from contactd.store import token_hash

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

    async def agent_profile(self, user_id: int) -> tuple[list[str], dict[str, int]]:
        """(queues the agent serves by their skills, capacity overrides per channel)."""
        queues = await self.pool.fetch(
            """SELECT q.name FROM queues q WHERE q.tenant_id = $2 AND q.active AND NOT EXISTS (
                 SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id AND NOT EXISTS (
                   SELECT 1 FROM agent_skills a WHERE a.user_id = $1 AND a.skill_id = qs.skill_id
                   AND a.level >= qs.min_level))
               AND EXISTS (SELECT 1 FROM queue_skills qs WHERE qs.queue_id = q.id)
               ORDER BY q.priority DESC, q.name""",
            user_id,
            self.tenant,
        )
        caps = await self.pool.fetch("SELECT channel, capacity FROM agent_capacity WHERE user_id = $1", user_id)
        return [r["name"] for r in queues], {r["channel"]: r["capacity"] for r in caps}
