"""Routing decisions as plain functions (no I/O; time is an argument).

The Redis store carries a decision out atomically and re-checks it there, so a
decision made on a slightly stale snapshot is refused, never applied wrongly.
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
    if contact.queue not in agent.queues and not named:
        return "does not serve queue"
    if agent.id in contact.skip:
        return "declined or missed this contact"
    if agent.load.get("voice", 0) > 0 and contact.channel != "voice":
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


def rank_agents(agents: Sequence[Agent]) -> list[Agent]:
    """Longest idle first; the id breaks ties so the order is stable and explainable."""
    return sorted(agents, key=lambda a: (a.idle_since_ms, a.id))


def choose_agent(contact: Contact, agents: Iterable[Agent], now_ms: int = 0) -> Decision:
    """The agent to offer ``contact`` to, with the ranking and the skipped agents."""
    ok, skipped = eligible_agents(contact, agents, now_ms)
    ranked = rank_agents(ok)
    return Decision(
        contact_id=contact.id,
        agent_id=ranked[0].id if ranked else None,
        ranked=tuple(a.id for a in ranked),
        skipped=tuple(skipped),
        rule="named agent" if contact.reserved(now_ms) else "longest-idle",
    )


def choose_contact(agent: Agent, waiting: Iterable[Contact], now_ms: int = 0) -> Contact | None:
    """The contact a newly free ``agent`` should be offered: highest priority, then longest waiting."""
    fits = [c for c in waiting if skip_reason(agent, c, now_ms) is None]
    if not fits:
        return None
    return min(fits, key=lambda c: (queue_score(c.priority, c.enqueued_ms), c.id))


def estimated_wait_s(position: int, serving_agents: int, avg_handle_s: float, per_agent: int) -> int | None:
    """A rough wait for the contact at ``position`` (1-based) in its queue.

    A contact waits only while every slot is taken, so it waits for
    ``position`` slots to free; each serving agent frees ``per_agent`` slots
    every ``avg_handle_s`` seconds on average. With nobody serving there is no
    honest estimate.
    """
    if serving_agents <= 0 or per_agent <= 0 or position <= 0:
        return None
    rate = serving_agents * per_agent / max(avg_handle_s, 1.0)
    return round(position / rate)
