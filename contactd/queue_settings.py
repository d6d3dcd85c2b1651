"""Queue settings in PostgreSQL: how each queue routes (strategy, escalation) and when it is open."""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

import asyncpg

from router.escalation import Step, parse_steps
from router.hours import Hours


class QueueSettings:
    """Routing settings of one tenant's queues."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def queue_strategies(self) -> dict[str, str]:
        """Each active queue's agent selection strategy."""
        rows = await self.pool.fetch("SELECT name, strategy FROM queues WHERE tenant_id = $1 AND active", self.tenant)
        return {r["name"]: r["strategy"] for r in rows}

    async def set_queue_strategy(self, name: str, strategy: str) -> bool:
        """Set an active queue's strategy; False if there is no such queue."""
        done: str = await self.pool.execute(
            "UPDATE queues SET strategy = $3 WHERE tenant_id = $1 AND name = $2 AND active", self.tenant, name, strategy
        )
        return done.endswith(" 1")

    async def queue_escalations(self) -> dict[str, tuple[Step, ...]]:
        """Each active queue's escalation steps (queues with none are left out)."""
        rows = await self.pool.fetch(
            "SELECT name, escalation FROM queues WHERE tenant_id = $1 AND active AND escalation <> '[]'", self.tenant
        )
        return {r["name"]: parse_steps(json.loads(r["escalation"])) for r in rows}

    async def set_queue_escalation(self, name: str, steps: list[dict[str, Any]]) -> bool:
        """Replace an active queue's escalation steps; False if there is no such queue."""
        done: str = await self.pool.execute(
            "UPDATE queues SET escalation = $3 WHERE tenant_id = $1 AND name = $2 AND active",
            self.tenant,
            name,
            json.dumps(steps),
        )
        return done.endswith(" 1")

    async def queue_hours(self) -> dict[str, Hours]:
        """Each active queue's opening hours, time zone and holidays."""
        queues = await self.pool.fetch(
            "SELECT id, name, timezone, observes_holidays FROM queues WHERE tenant_id = $1 AND active", self.tenant
        )
        periods = await self.pool.fetch(
            "SELECT h.queue_id, h.weekday, h.opens, h.closes FROM queue_hours h JOIN queues q ON q.id = h.queue_id"
            " WHERE q.tenant_id = $1 ORDER BY h.opens",
            self.tenant,
        )
        holidays = frozenset(
            r["day"] for r in await self.pool.fetch("SELECT day FROM holidays WHERE tenant_id = $1", self.tenant)
        )
        out = {}
        for q in queues:
            opening: dict[int, list[tuple[time, time]]] = {}
            for p in periods:
                if p["queue_id"] == q["id"]:
                    opening.setdefault(p["weekday"], []).append((p["opens"], p["closes"]))
            out[q["name"]] = Hours(opening, q["timezone"], holidays if q["observes_holidays"] else frozenset())
        return out

    async def import_holidays(self, days: list[tuple[date, str]]) -> int:
        """Add (or rename) closure days; returns how many were given."""
        await self.pool.executemany(
            "INSERT INTO holidays (tenant_id, day, name) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id, day) DO UPDATE SET name = EXCLUDED.name",
            [(self.tenant, day, name) for day, name in days],
        )
        return len(days)
