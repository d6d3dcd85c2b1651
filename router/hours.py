"""Business hours and holidays (pure: the time is an argument).

A queue with no opening hours is open at all times. Hours are local to the
queue's time zone, so a queue open 09:00-17:00 in Europe/London opens at
09:00 GMT in winter and 09:00 BST in summer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Hours:
    """When a queue takes contacts."""

    opening: Mapping[int, Sequence[tuple[time, time]]] = field(default_factory=dict)
    """Weekday (0 Monday ... 6 Sunday) -> (opens, closes) periods, local time. Empty: always open."""
    timezone: str = "Europe/London"
    """IANA time zone the hours are in."""
    holidays: Set[date] = frozenset()
    """Local days the queue is closed all day."""

    def is_open(self, now: datetime) -> bool:
        """Is the queue open at ``now`` (an aware datetime)?"""
        if not self.opening:
            return True
        local = now.astimezone(ZoneInfo(self.timezone))
        if local.date() in self.holidays:
            return False
        clock = local.time().replace(tzinfo=None)
        return any(opens <= clock < closes for opens, closes in self.opening.get(local.weekday(), ()))

    def next_opening(self, now: datetime, horizon_days: int = 21) -> datetime | None:
        """When the queue next opens after ``now`` (aware, in the queue's zone), or None within the horizon."""
        if not self.opening or self.is_open(now):
            return now
        zone = ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        for ahead in range(horizon_days + 1):
            day = local.date() + timedelta(days=ahead)
            if day in self.holidays:
                continue
            for opens, _closes in sorted(self.opening.get(day.weekday(), ())):
                start = datetime.combine(day, opens, tzinfo=zone)
                if start > local:
                    return start
        return None


def bank_holidays(document: Mapping[str, object], division: str) -> list[tuple[date, str]]:
    """The (day, name) pairs of one division in GOV.UK's bank-holidays.json format.

    The document maps a division ("england-and-wales", "scotland",
    "northern-ireland") to ``{"division": ..., "events": [{"title", "date", ...}]}``.
    Raises ValueError, naming what is wrong, for any other shape.
    """
    section = document.get(division)
    if not isinstance(section, Mapping) or not isinstance(section.get("events"), list):
        raise ValueError(f"no division {division!r} with a list of events in that file")
    days = []
    for event in section["events"]:
        if not isinstance(event, Mapping) or not isinstance(event.get("title"), str):
            raise ValueError(f"an event without a title: {event!r}")
        days.append((date.fromisoformat(str(event.get("date"))), event["title"]))
    return days


def closed_message(language: str, opens_at: datetime | None) -> str:
    """What a citizen who writes while the queue is closed is told, in their language."""
    if language == "cy":
        when = f" Byddwn ar agor eto {opens_at:%d/%m/%Y} am {opens_at:%H:%M}." if opens_at else ""
        return "Mae'n ddrwg gennym, rydym ar gau ar hyn o bryd." + when + " Rydym wedi cadw eich neges."
    when = f" We open again on {opens_at:%A %d %B} at {opens_at:%H:%M}." if opens_at else ""
    return "Sorry, we are closed at the moment." + when + " We have kept a record of your contact."
