"""Reports on the JSON API, for supervisors and admins: queue figures per interval (JSON or CSV) and the
fairness view (the same figures by language and by channel). docs/metrics.md defines each figure."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from contactd.reports import INTERVALS, MAX_BUCKETS, Reports
from contactd.web.admin import _adviser
from contactd.web.http import error, services, supervisor
from router.model import CHANNELS

MAX_RANGE = timedelta(days=366)
MAX_TIMELINE = timedelta(days=31)


def _when(value: str | None) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset; none means UTC), or None if it is not one."""
    if not value or len(value) > 40:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _period(request: Request) -> tuple[datetime, datetime] | Response:
    since, until = _when(request.query_params.get("from")), _when(request.query_params.get("to"))
    if since is None or until is None or until <= since:
        return error(400, "Give from= and to= as ISO 8601 times (e.g. 2026-11-30T00:00:00Z), from before to.")
    if until - since > MAX_RANGE:
        return error(400, "A report covers at most 366 days.")
    return since, until


async def queues(request: Request) -> Response:
    """``?from=&to=&interval=15m|1h|1d[&queue=][&channel=][&format=csv]``: figures per interval, queue
    and channel."""
    if isinstance(who := await supervisor(request), Response):
        return who
    period = _period(request)
    if isinstance(period, Response):
        return period
    interval = request.query_params.get("interval", "1h")
    channel = request.query_params.get("channel") or None
    if interval not in INTERVALS:
        return error(400, "interval= must be 15m, 1h or 1d.")
    if (period[1] - period[0]) / INTERVALS[interval] > MAX_BUCKETS:
        return error(400, f"That is more than {MAX_BUCKETS} intervals: choose a longer interval or a shorter period.")
    if channel is not None and channel not in CHANNELS:
        return error(400, f"channel= must be one of {', '.join(CHANNELS)}.")
    svc = services(request)
    rows = await Reports(svc.pool, svc.settings.tenant).history(
        *period, interval, request.query_params.get("queue") or None, channel
    )
    if request.query_params.get("format") == "csv":
        return _csv(rows, f"queues-{period[0]:%Y%m%d}-{interval}.csv")
    return JSONResponse(
        {"from": period[0].isoformat(), "to": period[1].isoformat(), "interval": interval, "rows": rows}
    )


async def fairness(request: Request) -> Response:
    """``?from=&to=``: waits, service level and abandonment by the citizen's language and by channel."""
    if isinstance(who := await supervisor(request), Response):
        return who
    period = _period(request)
    if isinstance(period, Response):
        return period
    svc = services(request)
    groups = await Reports(svc.pool, svc.settings.tenant).fairness(*period)
    return JSONResponse({"from": period[0].isoformat(), "to": period[1].isoformat(), **groups})


async def agent_timeline(request: Request) -> Response:
    """``/api/reports/agents/{id}/timeline?from=&to=``: an adviser's states over the period (at most 31 days)
    and the contacts they had in it."""
    if isinstance(who := await supervisor(request), Response):
        return who
    period = _period(request)
    if isinstance(period, Response):
        return period
    if period[1] - period[0] > MAX_TIMELINE:
        return error(400, "A timeline covers at most 31 days.")
    agent = await _adviser(request)
    if agent is None:
        return error(404, "No such adviser.")
    svc = services(request)
    timeline = await Reports(svc.pool, svc.settings.tenant).agent_timeline(agent.id, *period)
    return JSONResponse(
        {"agent": agent.public(), "from": period[0].isoformat(), "to": period[1].isoformat(), **timeline}
    )


def _csv(rows: list[dict[str, object]], name: str) -> Response:
    out = io.StringIO()
    columns = ["start", "queue", "channel", "offered", "answered", "abandoned", "abandonment_pct"]
    columns += ["service_level_pct", "asa_s", "aht_s", "avg_wait_s", "p90_wait_s", "max_wait_s"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        # A queue name is the department's own text: never let a spreadsheet run it as a formula.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in row.items()})
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
