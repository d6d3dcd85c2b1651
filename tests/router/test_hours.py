"""Business hours are a pure function of the time: checked here without an event loop."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from router.hours import Hours, closed_message

WEEKDAYS_9_TO_5 = {d: [(time(9), time(17))] for d in range(5)}
LONDON = Hours(WEEKDAYS_9_TO_5, "Europe/London", frozenset({date(2026, 12, 25)}))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_no_hours_means_always_open() -> None:
    assert Hours().is_open(at("2026-12-25T03:00")) and Hours().next_opening(at("2026-12-25T03:00")) is not None


def test_open_in_local_time_across_british_summer_time() -> None:
    assert not LONDON.is_open(at("2026-07-01T07:30"))  # 08:30 BST
    assert LONDON.is_open(at("2026-07-01T08:00"))  # 09:00 BST
    assert LONDON.is_open(at("2026-01-07T09:00"))  # 09:00 GMT
    assert not LONDON.is_open(at("2026-01-07T17:00"))  # closes at 17:00 sharp


def test_closed_at_weekends_and_on_holidays() -> None:
    assert not LONDON.is_open(at("2026-11-28T12:00"))  # a Saturday
    assert not LONDON.is_open(at("2026-12-25T12:00"))  # Christmas Day, a Friday


def test_next_opening_skips_the_weekend_and_holidays() -> None:
    friday_evening = at("2026-12-24T18:00")  # Thursday 24th 18:00; Friday 25th is a holiday
    opens = LONDON.next_opening(friday_evening)
    assert opens is not None and opens.isoformat() == "2026-12-28T09:00:00+00:00"  # Monday
    assert LONDON.next_opening(at("2026-12-28T10:00")) == at("2026-12-28T10:00")  # open now


def test_the_closed_message_is_in_the_citizens_language() -> None:
    opens = LONDON.next_opening(at("2026-11-28T12:00"))
    assert closed_message("en", opens) == (
        "Sorry, we are closed at the moment. We open again on Monday 30 November at 09:00."
        " We have kept a record of your contact."
    )
    assert closed_message("cy", opens).startswith("Mae'n ddrwg gennym, rydym ar gau ar hyn o bryd.")
    assert "30/11/2026 am 09:00" in closed_message("cy", opens)
