"""The wait estimate measured against a scripted day (a pure simulation: no event loop, no Redis).

Six advisers, three chats each, a morning peak and an afternoon bump over
eight hours; handle times average 7 minutes. Every citizen who has to wait is
told an estimate from ``policy.estimated_wait_s`` at their position on
arrival; the test compares it with the wait they then actually have.
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from router.policy import ANSWER_WINDOW_S, estimated_wait_s

AGENTS, PER_AGENT, TRUE_HANDLE_S, HOURS = 6, 3, 420.0, 8
Estimator = Callable[[int, int], int | None]


def arrivals_per_s(t: float) -> float:
    hour = t / 3600
    return 0.02 if hour < 1 else 0.05 if hour < 3 else 0.035 if hour < 5 else 0.045 if hour < 7 else 0.02


@dataclass
class Day:
    """One simulated day: each waiting citizen's estimate and actual wait (seconds)."""

    estimates: list[float]
    waits: list[float]

    @property
    def mean_wait(self) -> float:
        return statistics.mean(self.waits)

    @property
    def mean_abs_error(self) -> float:
        return statistics.mean(abs(e - w) for e, w in zip(self.estimates, self.waits, strict=True))


def simulate(estimate: Estimator, seed: int) -> Day:
    rng = random.Random(seed)
    t, contacts = 0.0, []
    while t < HOURS * 3600:
        t += rng.expovariate(arrivals_per_s(t))
        contacts.append((t, rng.expovariate(1 / TRUE_HANDLE_S)))
    events = [(at, 1, i) for i, (at, _) in enumerate(contacts)]
    heapq.heapify(events)
    free, queue, answers = AGENTS * PER_AGENT, [], []
    told: dict[int, float] = {}
    waited: dict[int, float] = {}
    while events:
        now, arriving, i = heapq.heappop(events)
        if arriving and (free == 0 or queue):
            queue.append(i)
            recent = sum(1 for a in answers if a > now - ANSWER_WINDOW_S)
            told[i] = float(estimate(len(queue), recent) or 0)
            continue
        if not arriving:
            free += 1
            if not queue:
                continue
            i = queue.pop(0)
            waited[i] = now - contacts[i][0]
        free -= 1
        answers.append(now)
        heapq.heappush(events, (now + contacts[i][1], 0, i))
    return Day([told[i] for i in waited], list(waited.values()))


def by_answer_rate(believed_handle_s: float) -> Estimator:
    return lambda position, recent: estimated_wait_s(position, AGENTS, believed_handle_s, PER_AGENT, recent)


def by_staffing_only(believed_handle_s: float) -> Estimator:
    return lambda position, recent: estimated_wait_s(position, AGENTS, believed_handle_s, PER_AGENT, 0)


def test_the_estimate_is_within_a_quarter_of_the_average_wait_on_a_scripted_day() -> None:
    # The handle time the department believes (5 min) is not the real one (7 min): the measured
    # answer rate sees the truth.
    for seed in (1, 2, 3):
        day = simulate(by_answer_rate(300.0), seed)
        assert len(day.waits) > 500
        assert day.mean_abs_error <= 0.25 * day.mean_wait, (seed, day.mean_abs_error, day.mean_wait)


def test_the_recent_answer_rate_beats_staffing_figures_that_are_wrong() -> None:
    for seed in (1, 2):
        measured = simulate(by_answer_rate(300.0), seed)
        staffing = simulate(by_staffing_only(300.0), seed)
        assert measured.mean_abs_error < 0.85 * staffing.mean_abs_error
