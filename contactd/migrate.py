"""Versioned SQL migrations: ``contactd/migrations/NNNN_name.sql``, applied in order.

Each file runs in one transaction with its version recorded; an advisory lock
makes concurrent start-ups of several nodes apply each migration exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger("contactd.migrate")
LOCK_KEY = 0x636F6E74  # "cont": one advisory lock id for schema changes


@dataclass(frozen=True)
class Migration:
    """One schema step: its number, its name and its SQL."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """The migrations shipped with this build, in version order."""
    found = []
    for entry in resources.files("contactd").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found, key=lambda m: m.version)


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    applied_now = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for m in available():
            if m.version in done:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
            log.info("applied migration %04d %s", m.version, m.name)
            applied_now.append(m.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now
