"""Figures from the system of record: what the queue board and reports show."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg


class Reports:
    """Read-only figures for one tenant."""

    def __init__(self, pool: asyncpg.Pool, tenant: str) -> None:
        self.pool = pool
        self.tenant = tenant

    async def queue_figures(self, since: datetime, sl_threshold_s: float) -> dict[str, dict[str, Any]]:
        """Per queue since ``since``: offered, answered, abandoned, service level %, ASA and AHT (seconds).

        Service level counts answered within the threshold against answered plus
        abandoned after the threshold: a citizen who gives up within it is not a
        failure of service (the usual contact-centre definition).
        """
        rows = await self.pool.fetch(
            """SELECT q.name,
                 count(c.id) AS offered,
                 count(c.assigned_at) AS answered,
                 count(*) FILTER (WHERE c.state = 'abandoned' AND c.assigned_at IS NULL) AS abandoned,
                 count(*) FILTER (WHERE c.assigned_at - c.queued_at <= make_interval(secs => $3)) AS in_sl,
                 count(*) FILTER (WHERE c.state = 'abandoned' AND c.assigned_at IS NULL
                                  AND c.ended_at - c.queued_at > make_interval(secs => $3)) AS late_abandoned,
                 avg(extract(epoch FROM c.assigned_at - c.queued_at)) AS asa,
                 avg(extract(epoch FROM c.closed_at - c.assigned_at)) FILTER (WHERE c.closed_at IS NOT NULL) AS aht
               FROM queues q LEFT JOIN conversations c ON c.queue_id = q.id AND c.created_at >= $2
               WHERE q.tenant_id = $1 AND q.active GROUP BY q.name, q.priority ORDER BY q.priority DESC, q.name""",
            self.tenant,
            since,
            sl_threshold_s,
        )
        out = {}
        for r in rows:
            decided = r["answered"] + r["late_abandoned"]
            out[r["name"]] = {
                "offered": r["offered"],
                "answered": r["answered"],
                "abandoned": r["abandoned"],
                "service_level_pct": round(100.0 * r["in_sl"] / decided, 1) if decided else None,
                "asa_s": round(float(r["asa"]), 1) if r["asa"] is not None else None,
                "aht_s": round(float(r["aht"]), 1) if r["aht"] is not None else None,
            }
        return out
