"""Queue settings in PostgreSQL: how each queue routes (strategy, escalation, returning citizens) and
when it is open."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import available_timezones

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


CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
"""A local time of day as the API takes it: ``HH:MM``, 00:00 to 23:59."""
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_PERIODS = 70
"""Most opening periods a queue may have in a week (ten a day)."""
MAX_HOLIDAYS = 500
"""Most closure days one request may import."""
HOURS_KEYS = ("timezone", "observes_holidays", "weekly")
HOURS_SHAPE = (
    'send {"timezone": "Europe/London", "observes_holidays": true,'
    ' "weekly": [{"day": 0-6, "opens": "HH:MM", "closes": "HH:MM"}, ...]}, any of them'
)


def clock_text(value: time) -> str:
    """``HH:MM`` (``HH:MM:SS`` if a period set in SQL has seconds)."""
    return value.isoformat("seconds" if value.second else "minutes")


@dataclass(frozen=True)
class Period:
    """One opening period of a queue, in the queue's local time."""

    day: int
    """Weekday: 0 Monday ... 6 Sunday."""
    opens: time
    """When it opens."""
    closes: time
    """When it closes (after it opens, the same day)."""

    def public(self) -> dict[str, Any]:
        """As the API shows it."""
        return {"day": self.day, "opens": clock_text(self.opens), "closes": clock_text(self.closes)}


@dataclass(frozen=True)
class QueueHours:
    """A queue's opening hours as set (``router.hours.Hours`` is how routing takes them)."""

    timezone: str = "Europe/London"
    """IANA time zone the periods are in."""
    observes_holidays: bool = True
    """Closed on the tenant's holidays."""
    weekly: tuple[Period, ...] = ()
    """Opening periods by day and time; none: open at all times."""

    def public(self) -> dict[str, Any]:
        """As the API shows it."""
        return {
            "timezone": self.timezone,
            "observes_holidays": self.observes_holidays,
            "weekly": [p.public() for p in self.weekly],
        }


@dataclass(frozen=True)
class HoursChange:
    """A change to a queue's hours; None leaves that part as it is."""

    timezone: str | None = None
    """A new IANA time zone."""
    observes_holidays: bool | None = None
    """Whether the queue closes on holidays."""
    weekly: tuple[Period, ...] | None = None
    """Replaces every opening period (empty: open at all times)."""

    @classmethod
    def parse(cls, value: Any) -> HoursChange:
        """From ``{"timezone", "observes_holidays", "weekly"}`` (any of them); ValueError says what is wrong."""
        if not isinstance(value, dict) or not value or set(value) - set(HOURS_KEYS):
            raise ValueError(HOURS_SHAPE)
        holidays = value.get("observes_holidays")
        if "observes_holidays" in value and not isinstance(holidays, bool):
            raise ValueError("observes_holidays must be true or false")
        return cls(
            timezone=parse_timezone(value["timezone"]) if "timezone" in value else None,
            observes_holidays=holidays,
            weekly=parse_weekly(value["weekly"]) if "weekly" in value else None,
        )

    def public(self) -> dict[str, Any]:
        """The parts changed, as the API shows them."""
        out: dict[str, Any] = {"timezone": self.timezone, "observes_holidays": self.observes_holidays}
        out["weekly"] = None if self.weekly is None else [p.public() for p in self.weekly]
        return {k: v for k, v in out.items() if v is not None}


def parse_timezone(value: Any) -> str:
    """An IANA time zone name that zoneinfo knows; ValueError otherwise."""
    if not isinstance(value, str) or len(value) > 64 or value not in available_timezones():
        raise ValueError(f"timezone {str(value)[:64]!r} is not an IANA time zone name such as Europe/London")
    return value


def parse_clock(value: Any, where: str) -> time:
    """A ``HH:MM`` time of day; ValueError naming ``where`` otherwise."""
    if not isinstance(value, str) or not CLOCK.fullmatch(value):
        raise ValueError(f"{where} must be a time HH:MM from 00:00 to 23:59")
    return time.fromisoformat(value)


def parse_period(item: Any, n: int) -> Period:
    """Period ``n`` (1-based) of a weekly list: ``{"day": 0-6, "opens": "HH:MM", "closes": "HH:MM"}``."""
    if not isinstance(item, dict) or set(item) != {"day", "opens", "closes"}:
        raise ValueError(f'weekly period {n}: send {{"day": 0-6, "opens": "HH:MM", "closes": "HH:MM"}}')
    day = item["day"]
    if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
        raise ValueError(f"weekly period {n}: day must be 0 (Monday) to 6 (Sunday)")
    opens = parse_clock(item["opens"], f"weekly period {n}: opens")
    closes = parse_clock(item["closes"], f"weekly period {n}: closes")
    if closes <= opens:
        raise ValueError(f"weekly period {n}: closes must be after opens")
    return Period(day, opens, closes)


def parse_weekly(value: Any) -> tuple[Period, ...]:
    """Every opening period of a week, by day and time; ValueError if any is bad or two of a day overlap."""
    if not isinstance(value, list) or len(value) > MAX_PERIODS:
        raise ValueError(f"weekly must be a list of at most {MAX_PERIODS} periods")
    periods = sorted((parse_period(item, n) for n, item in enumerate(value, 1)), key=lambda p: (p.day, p.opens))
    for before, after in itertools.pairwise(periods):
        if before.day == after.day and after.opens < before.closes:
            raise ValueError(f"weekly: on day {after.day}, {_span(after)} overlaps {_span(before)}")
    return tuple(periods)


def _span(period: Period) -> str:
    return f"{clock_text(period.opens)}-{clock_text(period.closes)}"


def parse_holidays(body: Any) -> list[tuple[date, str]]:
    """Closure days from ``{"days": [{"date": "YYYY-MM-DD", "name": ...}, ...]}``; ValueError says what is wrong."""
    days = body.get("days") if isinstance(body, dict) else None
    if not isinstance(days, list) or not 0 < len(days) <= MAX_HOLIDAYS:
        raise ValueError(f'Send {{"days": [{{"date": "YYYY-MM-DD", "name": "..."}}, ...]}} with 1-{MAX_HOLIDAYS} days.')
    out = [_holiday(item, n) for n, item in enumerate(days, 1)]
    seen: set[date] = set()
    for day, _name in out:
        if day in seen:
            raise ValueError(f"{day.isoformat()} is listed more than once.")
        seen.add(day)
    return out


def _holiday(item: Any, n: int) -> tuple[date, str]:
    raw = item.get("date") if isinstance(item, Mapping) else None
    name = item.get("name") if isinstance(item, Mapping) else None
    if not isinstance(raw, str) or not ISO_DATE.fullmatch(raw):
        raise ValueError(f"Day {n}: date must be YYYY-MM-DD.")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"Day {n}: {raw} is not a date.") from None
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValueError(f"Day {n}: name must be text of 1-100 characters.")
    return day, name.strip()


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

    async def recording(self) -> dict[str, int]:
        """Each active queue's days of call recordings kept (0: not recorded)."""
        rows = await self.pool.fetch("SELECT name, recording_days FROM queues WHERE tenant_id = $1", self.tenant)
        return {r["name"]: r["recording_days"] for r in rows}

    async def set_recording(self, name: str, days: int) -> bool:
        """Record an active queue's calls and keep them ``days`` (0: stop recording); False if no such queue."""
        done: str = await self.pool.execute(
            "UPDATE queues SET recording_days = $3 WHERE tenant_id = $1 AND name = $2 AND active",
            self.tenant,
            name,
            days,
        )
        return done.endswith(" 1")

    async def set_service_level(self, name: str, seconds: dict[str, int]) -> bool:
        """Set an active queue's own service level thresholds by channel; False if there is no such queue."""
        done: str = await self.pool.execute(
            "UPDATE queues SET service_level_s = $3 WHERE tenant_id = $1 AND name = $2 AND active",
            self.tenant,
            name,
            json.dumps(seconds),
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

    async def hours_of(self, name: str) -> QueueHours | None:
        """An active queue's hours as set; None if there is no such queue."""
        row = await self.pool.fetchrow(
            "SELECT id, timezone, observes_holidays FROM queues WHERE tenant_id = $1 AND name = $2 AND active",
            self.tenant,
            name,
        )
        if row is None:
            return None
        periods = await self.pool.fetch(
            "SELECT weekday, opens, closes FROM queue_hours WHERE queue_id = $1 ORDER BY weekday, opens", row["id"]
        )
        weekly = tuple(Period(p["weekday"], p["opens"], p["closes"]) for p in periods)
        return QueueHours(row["timezone"], row["observes_holidays"], weekly)

    async def set_hours(self, name: str, change: HoursChange) -> bool:
        """Apply ``change`` to an active queue's hours, all or nothing; False if there is no such queue."""
        async with self.pool.acquire() as conn, conn.transaction():
            queue_id = await conn.fetchval(
                "UPDATE queues SET timezone = coalesce($3, timezone),"
                " observes_holidays = coalesce($4, observes_holidays)"
                " WHERE tenant_id = $1 AND name = $2 AND active RETURNING id",
                self.tenant,
                name,
                change.timezone,
                change.observes_holidays,
            )
            if queue_id is None:
                return False
            if change.weekly is not None:
                await conn.execute("DELETE FROM queue_hours WHERE queue_id = $1", queue_id)
                await conn.executemany(
                    "INSERT INTO queue_hours (queue_id, weekday, opens, closes) VALUES ($1, $2, $3, $4)",
                    [(queue_id, p.day, p.opens, p.closes) for p in change.weekly],
                )
        return True

    async def import_holidays(self, days: list[tuple[date, str]]) -> int:
        """Add (or rename) closure days; returns how many were given."""
        await self.pool.executemany(
            "INSERT INTO holidays (tenant_id, day, name) VALUES ($1, $2, $3)"
            " ON CONFLICT (tenant_id, day) DO UPDATE SET name = EXCLUDED.name",
            [(self.tenant, day, name) for day, name in days],
        )
        return len(days)
