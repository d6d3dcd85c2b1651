"""Figures from the system of record: what the queue board and reports show (docs/metrics.md defines
each one). Every figure counts the contacts that joined a queue in the period, by ``queued_at``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

SERVICE_LEVEL_S = {"voice": 20, "chat": 60, "sms": 900, "email": 8 * 3600}
"""Answered within this long counts towards a queue's service level, by channel (docs/metrics.md)."""
INTERVALS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "1d": timedelta(days=1)}
MAX_BUCKETS = 5000

# The contacts of a period: those that joined a queue in it. Not those still ringing (a call choosing its
# topic) nor those closed outside hours, which were never offered to anyone.
_CONTACTS = """
FROM conversations c JOIN queues q ON q.id = c.queue_id
WHERE c.tenant_id = $1 AND c.queued_at >= $2 AND c.queued_at < $3 AND c.state <> 'arriving'
  AND NOT (c.ended_by = 'system' AND c.assigned_at IS NULL AND c.state = 'closed')
"""
# Each figure, over those contacts. $4: the default service level thresholds by channel (JSON, seconds);
# a queue's own (queues.service_level_s) go first.
_FIGURES = """
count(*) AS offered,
count(c.assigned_at) AS answered,
count(*) FILTER (WHERE c.state = 'abandoned' AND c.assigned_at IS NULL) AS abandoned,
count(*) FILTER (WHERE c.assigned_at - c.queued_at <= make_interval(secs => {threshold}))
  AS in_sl,
count(*) FILTER (WHERE c.state = 'abandoned' AND c.assigned_at IS NULL
  AND c.ended_at - c.queued_at > make_interval(secs => {threshold})) AS late_abandoned,
avg(extract(epoch FROM c.assigned_at - c.queued_at)) AS asa,
avg(extract(epoch FROM c.closed_at - c.assigned_at)) FILTER (WHERE c.closed_at IS NOT NULL) AS aht,
avg(extract(epoch FROM coalesce(c.assigned_at, c.ended_at) - c.queued_at)) AS avg_wait,
percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM coalesce(c.assigned_at, c.ended_at) - c.queued_at))
  AS p90_wait,
max(extract(epoch FROM coalesce(c.assigned_at, c.ended_at) - c.queued_at)) AS max_wait
""".format(threshold="coalesce((q.service_level_s ->> c.channel)::float, ($4::jsonb ->> c.channel)::float)")


def segments(
    before: tuple[str, str] | None, changes: list[tuple[datetime, str, str]], since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """An adviser's states over ``[since, until)``: each (status, reason) from when it began (or ``since``)
    to the next change (or ``until``). ``before`` is the state they were in at ``since`` (None: offline)."""
    status, reason = before or ("offline", "")
    start, out = since, []
    for at, new_status, new_reason in changes:
        if (new_status, new_reason) == (status, reason):
            continue
        if at > start:
            out.append({"status": status, "reason": reason, "from": start.isoformat(), "to": at.isoformat()})
        status, reason, start = new_status, new_reason, max(at, since)
    if until > start:
        out.append({"status": status, "reason": reason, "from": start.isoformat(), "to": until.isoformat()})
    return out


def _seconds(value: Any) -> float | None:
    return round(float(value), 1) if value is not None else None


def figures(r: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """One row's figures, as docs/metrics.md defines them."""
    decided = r["answered"] + r["late_abandoned"]
    return {
        "offered": r["offered"],
        "answered": r["answered"],
        "abandoned": r["abandoned"],
        "abandonment_pct": round(100.0 * r["abandoned"] / r["offered"], 1) if r["offered"] else None,
        "service_level_pct": round(100.0 * r["in_sl"] / decided, 1) if decided else None,
        "asa_s": _seconds(r["asa"]),
        "aht_s": _seconds(r["aht"]),
        "avg_wait_s": _seconds(r["avg_wait"]),
        "p90_wait_s": _seconds(r["p90_wait"]),
        "max_wait_s": _seconds(r["max_wait"]),
    }


NONE = figures(
    dict.fromkeys(("offered", "answered", "abandoned", "in_sl", "late_abandoned"), 0)
    | dict.fromkeys(("asa", "aht", "avg_wait", "p90_wait", "max_wait"))
)
"""The figures of a queue nobody joined."""


class Reports:
    """Read-only figures for one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str, thresholds: dict[str, int] | None = None) -> None:
        self.pool = pool
        self.tenant = tenant
        self.thresholds = json.dumps(thresholds or SERVICE_LEVEL_S)

    async def queue_figures(self, since: datetime, until: datetime | None = None) -> dict[str, dict[str, Any]]:
        """Per active queue, the figures of the contacts that joined it from ``since`` (to ``until``)."""
        until = until or datetime.max.replace(tzinfo=since.tzinfo)
        names = await self.pool.fetch(
            "SELECT name FROM queues WHERE tenant_id = $1 AND active ORDER BY priority DESC, name", self.tenant
        )
        rows = await self.pool.fetch(
            f"SELECT q.name, {_FIGURES} {_CONTACTS} GROUP BY q.name", self.tenant, since, until, self.thresholds
        )
        found = {r["name"]: figures(r) for r in rows}
        return {n["name"]: found.get(n["name"], NONE) for n in names}

    async def channel_figures(self, since: datetime) -> dict[tuple[str, str], dict[str, Any]]:
        """The figures from ``since``, by queue and channel (only pairs that had contacts)."""
        rows = await self.pool.fetch(
            f"SELECT q.name, c.channel, {_FIGURES} {_CONTACTS} GROUP BY 1, 2",
            self.tenant,
            since,
            datetime.max.replace(tzinfo=since.tzinfo),
            self.thresholds,
        )
        return {(r["name"], r["channel"]): figures(r) for r in rows}

    async def handled(self, since: datetime) -> dict[int, int]:
        """Contacts each adviser has finished (wrap-up done or timed out) from ``since``."""
        rows = await self.pool.fetch(
            "SELECT agent_id, count(*) AS n FROM conversations WHERE tenant_id = $1 AND closed_at >= $2"
            " AND assigned_at IS NOT NULL AND agent_id IS NOT NULL GROUP BY agent_id",
            self.tenant,
            since,
        )
        return {r["agent_id"]: r["n"] for r in rows}

    async def held(self) -> dict[int, list[dict[str, str]]]:
        """The contacts each adviser has now (answered or in wrap-up): id, channel and queue."""
        rows = await self.pool.fetch(
            "SELECT c.agent_id, c.id::text AS id, c.channel, q.name AS queue FROM conversations c"
            " JOIN queues q ON q.id = c.queue_id WHERE c.tenant_id = $1 AND c.state IN ('assigned', 'wrapup')"
            " AND c.agent_id IS NOT NULL ORDER BY c.assigned_at",
            self.tenant,
        )
        out: dict[int, list[dict[str, str]]] = {}
        for r in rows:
            out.setdefault(r["agent_id"], []).append({"id": r["id"], "channel": r["channel"], "queue": r["queue"]})
        return out

    async def agent_timeline(self, agent_id: int, since: datetime, until: datetime) -> dict[str, Any]:
        """An adviser's states over the period (from their ``agent.status`` events) and the contacts they had."""
        prior = await self.pool.fetchrow(
            "SELECT data->>'status' AS status, coalesce(data->>'reason', '') AS reason FROM events"
            " WHERE tenant_id = $1 AND type = 'agent.status' AND agent_id = $2 AND at < $3 ORDER BY at DESC, id DESC"
            " LIMIT 1",
            self.tenant,
            agent_id,
            since,
        )
        rows = await self.pool.fetch(
            "SELECT at, data->>'status' AS status, coalesce(data->>'reason', '') AS reason FROM events"
            " WHERE tenant_id = $1 AND type = 'agent.status' AND agent_id = $2 AND at >= $3 AND at < $4"
            " ORDER BY at, id",
            self.tenant,
            agent_id,
            since,
            until,
        )
        contacts = await self.pool.fetch(
            "SELECT id::text, channel, assigned_at, closed_at FROM conversations WHERE tenant_id = $1"
            " AND agent_id = $2 AND assigned_at < $4 AND coalesce(closed_at, now()) >= $3 ORDER BY assigned_at",
            self.tenant,
            agent_id,
            since,
            until,
        )
        before = (prior["status"], prior["reason"]) if prior else None
        states = segments(before, [(r["at"], r["status"], r["reason"]) for r in rows], since, until)
        handled = [
            {
                "conversation_id": c["id"],
                "channel": c["channel"],
                "from": c["assigned_at"].isoformat(),
                "to": c["closed_at"].isoformat() if c["closed_at"] else None,
            }
            for c in contacts
        ]
        return {"states": states, "contacts": handled}

    async def history(
        self, since: datetime, until: datetime, interval: str, queue: str | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """The figures per ``interval`` (``15m``, ``1h``, ``1d``, from ``since``), per queue and channel."""
        rows = await self.pool.fetch(
            f"""SELECT date_bin($5::interval, c.queued_at, $2) AS start, q.name AS queue, c.channel, {_FIGURES}
                {_CONTACTS} AND ($6::text IS NULL OR q.name = $6) AND ($7::text IS NULL OR c.channel = $7)
                GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""",
            self.tenant,
            since,
            until,
            self.thresholds,
            INTERVALS[interval],
            queue,
            channel,
        )
        return [
            {"start": r["start"].isoformat(), "queue": r["queue"], "channel": r["channel"], **figures(r)} for r in rows
        ]

    async def fairness(self, since: datetime, until: datetime) -> dict[str, list[dict[str, Any]]]:
        """The same figures by the citizen's language and by channel: does any group wait longer?"""
        out: dict[str, list[dict[str, Any]]] = {}
        for group in ("language", "channel"):
            rows = await self.pool.fetch(
                f"SELECT c.{group} AS value, {_FIGURES} {_CONTACTS} GROUP BY 1 ORDER BY 1",
                self.tenant,
                since,
                until,
                self.thresholds,
            )
            out[group] = [{group: r["value"], **figures(r)} for r in rows]
        return out
