"""Queue settings in PostgreSQL: how each queue routes (strategy, escalation, returning citizens) and
when it is open."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import asyncpg

from router.escalation import Step, parse_steps
from router.hours import Hours


@dataclass(frozen=True)
class PreviousAgent:
    """A queue's rule for returning citizens: the adviser they spoke to within ``days`` is tried
    first, for ``wait_s`` seconds, before anyone else (0 days: never)."""

    days: int = 7
    wait_s: int = 30

    @classmethod
    def parse(cls, value: Any) -> PreviousAgent:
        """From ``{"days": 0-365, "wait_s": 0-600}`` (either may be left out); ValueError says what is wrong."""
        if not isinstance(value, dict) or set(value) - {"days", "wait_s"}:
            raise ValueError('send {"days": 0-365, "wait_s": 0-600}')
        days, wait_s = value.get("days", cls.days), value.get("wait_s", cls.wait_s)
        for name, v, top in (("days", days, 365), ("wait_s", wait_s, 600)):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= top:
                raise ValueError(f"{name} must be a whole number from 0 to {top}")
        return cls(days, wait_s)


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

    async def previous_agent(self) -> dict[str, PreviousAgent]:
        """Each active queue's rule for returning citizens."""
        rows = await self.pool.fetch(
            "SELECT name, previous_agent_days, previous_agent_wait_s FROM queues WHERE tenant_id = $1 AND active",
            self.tenant,
        )
        return {r["name"]: PreviousAgent(r["previous_agent_days"], r["previous_agent_wait_s"]) for r in rows}

    async def set_previous_agent(self, name: str, rule: PreviousAgent) -> bool:
        """Set an active queue's rule for returning citizens; False if there is no such queue."""
        done: str = await self.pool.execute(
            "UPDATE queues SET previous_agent_days = $3, previous_agent_wait_s = $4"
            " WHERE tenant_id = $1 AND name = $2 AND active",
            self.tenant,
            name,
            rule.days,
            rule.wait_s,
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
