"""Escalation steps (pure): what a contact's wait has earned it, like the rings of bullseye routing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.policy import MAX_PRIORITY


@dataclass(frozen=True)
class Step:
    """One escalation step of a queue."""

    after_s: float
    """Seconds of waiting after which the step applies."""
    raise_priority: int = 0
    """Added to the contact's priority (capped at 999)."""
    overflow: tuple[str, ...] = ()
    """Queues whose advisers may take the contact from this step on."""
    relax_level: int = 0
    """How many levels below the queue's minimum skill level an adviser may be from this step on."""


def parse_steps(raw: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    """Steps from a queue's settings, in order of time; ValueError naming what is wrong."""
    steps = []
    for n, item in enumerate(raw, 1):
        after = item.get("after_s")
        if not isinstance(after, int | float) or isinstance(after, bool) or after < 0:
            raise ValueError(f"step {n}: after_s must be a number of seconds")
        boost = item.get("raise_priority", 0)
        overflow = item.get("overflow", [])
        if not isinstance(boost, int) or isinstance(boost, bool) or not 0 <= boost <= MAX_PRIORITY:
            raise ValueError(f"step {n}: raise_priority must be 0-{MAX_PRIORITY}")
        if not isinstance(overflow, list) or not all(isinstance(q, str) for q in overflow):
            raise ValueError(f"step {n}: overflow must be a list of queue names")
        relax = item.get("relax_level", 0)
        if not isinstance(relax, int) or isinstance(relax, bool) or not 0 <= relax <= 4:
            raise ValueError(f"step {n}: relax_level must be 0-4")
        steps.append(Step(float(after), boost, tuple(overflow), relax))
    return tuple(sorted(steps, key=lambda s: s.after_s))


def step_reached(steps: Sequence[Step], waited_s: float) -> int:
    """How many steps a contact that has waited ``waited_s`` has reached (0: none)."""
    return sum(1 for s in steps if waited_s >= s.after_s)


def priority_at(base: int, steps: Sequence[Step], reached: int) -> int:
    """The contact's priority once ``reached`` steps have raised it."""
    return min(MAX_PRIORITY, base + sum(s.raise_priority for s in steps[:reached]))


def relax_at(steps: Sequence[Step], reached: int) -> int:
    """How many levels below a queue's minimum an adviser may be once ``reached`` steps apply."""
    return max((s.relax_level for s in steps[:reached]), default=0)


def overflow_at(steps: Sequence[Step], reached: int) -> frozenset[str]:
    """The queues whose advisers may take the contact once ``reached`` steps apply."""
    return frozenset(q for s in steps[:reached] for q in s.overflow)
