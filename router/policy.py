"""Routing decisions as plain functions (no I/O; time is an argument).

These functions are the specification of routing. On the live path the same
rules run inside Redis (``router/lua/_decide.lua``), so that a decision and the
offer it makes are one atomic step at thousands of decisions a second; the
state-machine test checks every decision made there against these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from router.model import Agent, Contact, Decision, Skipped

# Scores order a queue's sorted set: higher priority first, then oldest first.
# Milliseconds are counted from 2020 so that each priority band (1e12 ms, about
# 31 years: until September 2051) holds every arrival time, and the largest
# score stays below 2**53, so the double that Redis stores is exact.
EPOCH_MS = 1_577_836_800_000
PRIORITY_STEP = 1_000_000_000_000
MAX_PRIORITY = 999


def queue_score(priority: int, enqueued_ms: int) -> int:
    """Sort key of a contact in its queue: lower is served first."""
    if not 0 <= priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be 0-{MAX_PRIORITY}, got {priority}")
    return (MAX_PRIORITY - priority) * PRIORITY_STEP + max(0, enqueued_ms - EPOCH_MS)


def skip_reason(agent: Agent, contact: Contact, now_ms: int = 0) -> str | None:
    """Why ``agent`` cannot take ``contact`` at ``now_ms``, or None if they can.

    A contact reserved for a named agent waits for them alone until the
    reservation ends; that agent may take it even from a queue they do not serve.
    """
    if agent.status != "available":
        return f"status {agent.status}"
    named = contact.reserved(now_ms)
    if named and agent.id != contact.reserved_for:
        return f"reserved for agent {contact.reserved_for}"
    if not agent.serves(contact.queue, contact.relax) and not named and not agent.queues & contact.overflow:
        return "does not serve queue"
    if agent.id in contact.skip:
        return "declined or missed this contact"
    if agent.voice_exclusive and agent.load.get("voice", 0) > 0 and contact.channel != "voice":
        return "on a call"
    if agent.free(contact.channel) <= 0:
        return f"no free {contact.channel} slot"
    return None


def eligible_agents(contact: Contact, agents: Iterable[Agent], now_ms: int = 0) -> tuple[list[Agent], list[Skipped]]:
    """Split ``agents`` into those who could take ``contact`` now and those skipped (with reasons)."""
    ok: list[Agent] = []
    skipped: list[Skipped] = []
    for agent in agents:
        reason = skip_reason(agent, contact, now_ms)
        if reason is None:
            ok.append(agent)
        else:
            skipped.append(Skipped(agent.id, reason))
    return ok, skipped


STRATEGIES = ("longest-idle", "fewest-active", "most-skilled", "round-robin")


def _id_key(agent_id: str) -> tuple[int, str]:
    """Agent ids sort as numbers when they are numbers (round robin walks them in that order)."""
    return (int(agent_id), "") if agent_id.isdigit() else (1 << 62, agent_id)


def rank_agents(
    agents: Sequence[Agent], strategy: str = "longest-idle", queue: str = "", last: str = ""
) -> list[Agent]:
    """Order eligible agents by a queue's strategy; longest idle, then the id (as text), break every tie.

    - ``longest-idle``: the agent free of work the longest first.
    - ``fewest-active``: the agent holding the fewest contacts first.
    - ``most-skilled``: the highest skill level for ``queue`` first.
    - ``round-robin``: the agent after ``last`` (the one offered last) in id order, wrapping round.
    """
    idle = sorted(agents, key=lambda a: (a.idle_since_ms, a.id))
    if strategy == "fewest-active":
        return sorted(idle, key=lambda a: a.active)
    if strategy == "most-skilled":
        return sorted(idle, key=lambda a: -a.levels.get(queue, 0))
    if strategy == "round-robin":
        ring = sorted(agents, key=lambda a: _id_key(a.id))
        after = [a for a in ring if last and _id_key(a.id) > _id_key(last)]
        return after + [a for a in ring if a not in after]
    return idle


def choose_agent(
    contact: Contact, agents: Iterable[Agent], now_ms: int = 0, strategy: str = "longest-idle", last: str = ""
) -> Decision:
    """The agent to offer ``contact`` to, with the ranking and the skipped agents."""
    ok, skipped = eligible_agents(contact, agents, now_ms)
    named = contact.reserved(now_ms)
    ranked = rank_agents(ok, "longest-idle" if named else strategy, contact.queue, last)
    return Decision(
        contact_id=contact.id,
        agent_id=ranked[0].id if ranked else None,
        ranked=tuple(a.id for a in ranked),
        skipped=tuple(skipped),
        rule=contact.reserved_rule if named else strategy,
    )


def choose_contact(agent: Agent, waiting: Iterable[Contact], now_ms: int = 0) -> Contact | None:
    """The contact a newly free ``agent`` should be offered.

    Their routing profile's queue order first (a contact reserved for them
    counts as their first queue), then within it the highest priority, then
    the longest waiting.
    """
    fits = [c for c in waiting if skip_reason(agent, c, now_ms) is None]
    if not fits:
        return None

    def key(c: Contact) -> tuple[int, int, str]:
        rank = -1 if c.reserved(now_ms) else agent.queue_rank(c.queue)
        return (rank, queue_score(c.priority, c.enqueued_ms), c.id)

    return min(fits, key=key)


ANSWER_WINDOW_S = 900.0
"""How far back the recent answer rate looks."""
MIN_ANSWERS = 3
"""Fewer answers than this in the window: too few to trust, estimate from staffing instead."""


def estimated_wait_s(
    position: int,
    serving_agents: int,
    avg_handle_s: float,
    per_agent: int,
    recent_answers: int = 0,
    window_s: float = ANSWER_WINDOW_S,
) -> int | None:
    """A wait estimate for the contact at ``position`` (1-based) in its queue.

    A contact waits only while every slot is taken, so it waits for
    ``position`` slots to free. How fast slots free is measured: the queue's
    answers in the last ``window_s`` (which sees what staffing figures miss:
    breaks, long calls, multitasking). With too few recent answers, it is
    estimated from staffing: each available agent frees ``per_agent`` slots
    every ``avg_handle_s``. With nobody available there is no honest estimate.
    """
    if serving_agents <= 0 or per_agent <= 0 or position <= 0:
        return None
    if recent_answers >= MIN_ANSWERS:
        rate = recent_answers / window_s
    else:
        rate = serving_agents * per_agent / max(avg_handle_s, 1.0)
    return round(position / rate)
