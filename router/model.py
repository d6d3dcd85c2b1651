"""Plain values the router decides on. No I/O, no clocks: times are arguments (ms since the epoch)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CHANNELS = ("voice", "chat", "sms", "email")
DEFAULT_CAPACITY: Mapping[str, int] = {"voice": 1, "chat": 3, "sms": 5, "email": 5}


@dataclass(frozen=True)
class Profile:
    """What routes to an agent: their routing profile, as the staff directory derives it from their skills."""

    queues: tuple[str, ...] = ()
    """Queues they serve, in the order they serve them (first first)."""
    capacity: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    """Most contacts at once per channel."""
    levels: Mapping[str, int] = field(default_factory=dict)
    """Their skill level for each queue they serve (for the most-skilled strategy)."""
    voice_exclusive: bool = True
    """While on a voice call they take no other work."""
    short_of: Mapping[str, int] = field(default_factory=dict)
    """Queues they hold every skill for but fall short of the minimum level by this many levels."""


@dataclass(frozen=True)
class Agent:
    """An agent as the router sees them at one instant."""

    id: str
    """The user id, as text (Redis and JSON carry it so)."""
    status: str
    """``offline``, ``available`` or ``away``."""
    idle_since_ms: int
    """When the agent last became free of work (or available): longest idle goes first."""
    load: Mapping[str, int] = field(default_factory=dict)
    """Contacts held (offered or assigned) per channel."""
    capacity: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CAPACITY))
    """Most contacts at once per channel."""
    queues: frozenset[str] = frozenset()
    """Queues this agent serves."""
    reason: str = ""
    """Why the agent is away (their own words, or e.g. "missed offers")."""
    queue_order: tuple[str, ...] = ()
    """Their queues in the order their routing profile serves them (first first)."""
    levels: Mapping[str, int] = field(default_factory=dict)
    """Their skill level for each queue they serve (for the most-skilled strategy)."""
    voice_exclusive: bool = True
    """While on a voice call they take no other work."""
    since_ms: int = 0
    """When their status last changed."""
    short_of: Mapping[str, int] = field(default_factory=dict)
    """Queues they hold every skill for but fall short of the minimum level by this many levels."""

    def serves(self, contact_queue: str, relax: int = 0) -> bool:
        """Do they serve the queue, at its minimum levels relaxed by ``relax``?"""
        return contact_queue in self.queues or 0 < self.short_of.get(contact_queue, 99) <= relax

    def queue_rank(self, queue: str) -> int:
        """Where ``queue`` stands in their profile (0 first); queues not listed come last."""
        return self.queue_order.index(queue) if queue in self.queue_order else len(self.queue_order)

    @property
    def active(self) -> int:
        """Contacts held on every channel."""
        return sum(self.load.values())

    def free(self, channel: str) -> int:
        """Slots left on ``channel``."""
        return max(0, self.capacity.get(channel, 0) - self.load.get(channel, 0))


@dataclass(frozen=True)
class Contact:
    """A waiting contact as the router sees it."""

    id: str
    """The conversation id."""
    queue: str
    """Queue it waits in."""
    channel: str
    """``voice``, ``chat``, ``sms`` or ``email``."""
    priority: int = 0
    """0-999, higher first."""
    enqueued_ms: int = 0
    """When it joined its queue; re-offers keep it, so the contact keeps its place."""
    skip: frozenset[str] = frozenset()
    """Agents not to offer it to again for now (they declined or missed it)."""
    reserved_for: str = ""
    """An agent it waits for first (named in a transfer, or the citizen's previous agent)."""
    reserved_until_ms: int = 0
    """Until when only ``reserved_for`` may be offered it; after that, anyone eligible."""
    step: int = 0
    """The escalation step it has reached (0: none)."""
    overflow: frozenset[str] = frozenset()
    """Other queues whose agents may take it (from escalation)."""
    relax: int = 0
    """Levels below its queue's minimum an agent may be (from escalation)."""
    reserved_rule: str = "named agent"
    """Why it is reserved, as receipts name the rule: ``named agent`` (a transfer) or ``previous agent``."""

    def reserved(self, now_ms: int) -> bool:
        """True while the contact waits for its reserved agent only."""
        return bool(self.reserved_for) and now_ms < self.reserved_until_ms


@dataclass(frozen=True)
class Skipped:
    """An agent passed over for a contact, and why (for the routing receipt)."""

    agent_id: str
    reason: str


@dataclass(frozen=True)
class Decision:
    """The outcome of ranking agents for one contact: who, and the reasoning."""

    contact_id: str
    agent_id: str | None
    """The agent to offer to, or None when nobody can take it now."""
    ranked: tuple[str, ...] = ()
    """Eligible agents, best first."""
    skipped: tuple[Skipped, ...] = ()
    """Agents of the queue who were not eligible, with the reason."""
    rule: str = "longest-idle"
    """The rule that ordered the eligible agents."""
    eligible: int = -1
    """How many agents were eligible (``ranked`` may name only the first few); -1: as many as ranked."""
    unlisted: int = 0
    """Agents serving the queue who were not free and are not named in ``skipped`` (a receipt lists the first few)."""

    @property
    def eligible_count(self) -> int:
        return len(self.ranked) if self.eligible < 0 else self.eligible
