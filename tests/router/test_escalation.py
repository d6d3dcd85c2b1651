"""Escalation steps are pure: what a wait earns a contact, checked without an event loop."""

from __future__ import annotations

import pytest

from router.escalation import Step, overflow_at, parse_steps, priority_at, relax_at, step_reached

STEPS = parse_steps(
    [
        {"after_s": 300, "overflow": ["general"]},
        {"after_s": 60, "raise_priority": 50},
        {"after_s": 600, "raise_priority": 990, "overflow": ["council-tax"]},
    ]
)


def test_steps_are_kept_in_order_of_time() -> None:
    assert [s.after_s for s in STEPS] == [60, 300, 600]
    assert STEPS[0] == Step(60.0, 50, ())


def test_a_longer_wait_reaches_more_steps() -> None:
    assert [step_reached(STEPS, w) for w in (0, 59.9, 60, 299, 300, 3600)] == [0, 0, 1, 1, 2, 3]


def test_priority_rises_with_each_step_and_stops_at_999() -> None:
    assert [priority_at(5, STEPS, n) for n in range(4)] == [5, 55, 55, 999]


def test_overflow_queues_add_up() -> None:
    assert overflow_at(STEPS, 1) == frozenset()
    assert overflow_at(STEPS, 3) == {"general", "council-tax"}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([{"raise_priority": 5}], "step 1: after_s must be a number of seconds"),
        ([{"after_s": -1}], "step 1: after_s"),
        ([{"after_s": 10}, {"after_s": 20, "raise_priority": 5000}], "step 2: raise_priority must be 0-999"),
        ([{"after_s": 10, "overflow": "general"}], "step 1: overflow must be a list of queue names"),
    ],
)
def test_bad_steps_are_refused_with_the_reason(raw: list[dict[str, object]], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_steps(raw)


def test_relaxing_the_minimum_level_lets_near_advisers_serve() -> None:
    from router.model import Agent, Contact
    from router.policy import skip_reason

    steps = parse_steps([{"after_s": 60, "relax_level": 1}, {"after_s": 120, "relax_level": 2}])
    assert [relax_at(steps, n) for n in range(3)] == [0, 1, 2]
    near = Agent("n", "available", 0, {}, {"chat": 3}, frozenset({"general"}), short_of={"benefits": 2})
    assert skip_reason(near, Contact("c", "benefits", "chat")) == "does not serve queue"
    assert skip_reason(near, Contact("c", "benefits", "chat", relax=1)) == "does not serve queue"
    assert skip_reason(near, Contact("c", "benefits", "chat", relax=2)) is None
