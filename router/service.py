"""The router service: drives the pure core and the Redis store, and tells the rest of contactd.

It decides on its own initiative only to offer (after an arrival, a freed slot
or a missed offer) and to expire offers; every other change comes from a
channel or a console, which calls the method named for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from router import escalation, policy
from router.escalation import Step
from router.model import Agent, Contact, Decision, Profile
from router.store import LiveConversation, RouterStore

log = logging.getLogger("router.service")


class Listener(Protocol):
    """What the router tells the rest of contactd (which records it and pushes it to consoles)."""

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None: ...

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None:
        """An offer ended without an answer: ``reason`` is ``timeout``, or ``away`` (the agent left)."""

    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None:
        """The agent did not finish wrap-up in time; the slot has been freed."""

    async def escalated(self, conversation_id: str, step: int, priority: int, overflow: list[str]) -> None:
        """A waiting contact reached escalation ``step``: its priority and overflow queues are now these."""

    async def agent_missed(self, agent_id: str, missed: int) -> None:
        """The agent let ``missed`` offers in a row time out: set them away and tell them why."""

    async def changed(self, queue: str) -> None: ...


@dataclass(frozen=True)
class RouterConfig:
    """Routing settings of one deployment."""

    offer_timeout_s: float = 30.0
    """Seconds an agent has to accept an offer."""
    skip_after_decline_s: float = 60.0
    """How long an agent who declined or missed a contact is not offered it again."""
    attempts: int = 8
    """Most offers one routing step for a freed agent makes (each slot of theirs, or a longer-idle agent's)."""
    reserve_named_s: float = 120.0
    """How long a contact transferred to a named agent waits for them before anyone may take it."""
    wrapup_s: float = 60.0
    """Seconds an agent has to wrap up before the slot frees by itself."""
    max_missed: int = 3
    """Offers an agent may miss in a row before they are set away (reason "missed offers")."""


class RouterService:
    """Routing for one tenant: arrivals, offers, answers to offers, and freed slots."""

    def __init__(
        self, store: RouterStore, listener: Listener, config: RouterConfig, clock_ms: Callable[[], int]
    ) -> None:
        self.store = store
        self.listener = listener
        self.config = config
        self.now_ms = clock_ms
        self.strategies: dict[str, str] = {}
        """Each queue's agent selection strategy (``policy.STRATEGIES``); longest idle when not set."""
        self.escalations: dict[str, tuple[Step, ...]] = {}
        """Each queue's escalation steps (none when not set)."""

    async def enqueue(self, c: LiveConversation) -> int:
        """Queue a new conversation (at ``c.priority``) without offering it yet; returns its position."""
        position = await self.store.enqueue(c, c.priority, policy.queue_score(c.priority, c.enqueued_ms))
        await self.listener.changed(c.queue)
        return position

    async def arrive(self, c: LiveConversation) -> int:
        """Queue a new conversation and try to offer it now; returns its position (0 once offered)."""
        await self.enqueue(c)
        if await self.dispatch_contact(c.id):
            return 0
        return await self.store.position(c.queue, c.id) or 0

    async def dispatch_contact(self, conversation_id: str) -> str | None:
        """Offer a waiting contact to the best eligible agent; returns the agent id, or None."""
        decision = await self.decide(conversation_id)
        return decision.agent_id if decision is not None else None

    async def decide(self, conversation_id: str) -> Decision | None:
        """Offer a waiting contact if anyone can take it; the decision either way (None: not waiting).

        One atomic step in Redis decides and offers. A decision with no agent
        says who was passed over and why: the receipt of a contact that has to wait.
        """
        now = self.now_ms()
        routed = await self.store.route_contact(conversation_id, now, self._deadline(now), self._strategies())
        if routed is None:
            return None
        decision, contact = routed
        if decision.agent_id is not None:
            await self._offered(contact, decision)
        return decision

    async def dispatch_agent(self, agent_id: str) -> int:
        """Fill a free agent's slots with the best waiting contacts; returns how many were offered.

        A contact goes to whoever ranks first for it, which may be a longer-idle agent than this one.
        """
        now = self.now_ms()
        made = await self.store.route_agent(
            agent_id, now, self._deadline(now), self._strategies(), self.config.attempts
        )
        for decision, contact in made:
            await self._offered(contact, decision)
        return len(made)

    def _deadline(self, now_ms: int) -> int:
        return now_ms + int(self.config.offer_timeout_s * 1000)

    def _strategies(self) -> str:
        """The queues not on longest idle, as the routing scripts take them."""
        other = {q: s for q, s in self.strategies.items() if s != "longest-idle"}
        return json.dumps(other) if other else ""

    async def estimator(
        self, queue: str, avg_handle_s: float, serving: Sequence[Agent] | None = None
    ) -> Callable[[int], int | None]:
        """Estimated wait in seconds by position in ``queue`` (None when nobody serving it is available).

        Reads the queue's agents (unless the caller has: ``serving``, as ``agents_serving`` gives them) and
        recent answers once, so that many positions cost one read.
        """
        agents = await self.store.agents_serving(queue) if serving is None else serving
        available = [a for a in agents if a.status == "available" and queue in a.queues]
        per_agent = max((a.capacity.get("chat", 0) for a in available), default=0)
        window_ms = int(policy.ANSWER_WINDOW_S * 1000)
        answers = await self.store.recent_answers(queue, self.now_ms(), window_ms)
        return lambda position: policy.estimated_wait_s(position, len(available), avg_handle_s, per_agent, answers)

    async def _offered(self, contact: Contact, decision: Decision) -> None:
        assert decision.agent_id is not None
        await self.listener.offered(contact, decision.agent_id, decision, self.config.offer_timeout_s)
        await self.listener.changed(contact.queue)

    async def accept(self, conversation_id: str, agent_id: str) -> bool:
        """The agent takes the offer they hold; False if it was withdrawn or never theirs."""
        live = await self.store.conversation(conversation_id)
        ok = await self.store.accept(conversation_id, agent_id, self.now_ms())
        if ok and live is not None:
            window_ms = int(policy.ANSWER_WINDOW_S * 1000)
            await self.store.record_answer(live.queue, conversation_id, self.now_ms(), window_ms)
        if ok:
            await self.listener.changed("")
        return ok

    async def reject(self, conversation_id: str, agent_id: str) -> bool:
        """The agent declines: the contact goes back to its place and on to the next agent."""
        return await self._requeue(conversation_id, agent_id) is not None

    async def _requeue(self, conversation_id: str, agent_id: str, missed: bool = False) -> int | None:
        """Put an offered contact back at its place and offer it on; None if the offer was no longer open.

        Returns the agent's offers missed in a row (0 for a decline). An agent who
        has just missed too many is not offered more: they are about to be set away.
        """
        live = await self.store.conversation(conversation_id)
        if live is None or live.state != "offered" or live.agent_id != agent_id:
            return None
        skip_ms = int(self.config.skip_after_decline_s * 1000)
        if missed:
            count = await self.store.miss(conversation_id, agent_id, live.queue, skip_ms, self.now_ms())
        else:
            count = 0 if await self.store.requeue(conversation_id, agent_id, live.queue, skip_ms) else None
        if count is None:
            return None
        await self.listener.changed(live.queue)
        await self.dispatch_contact(conversation_id)
        if count < self.config.max_missed:
            await self.dispatch_agent(agent_id)
        return count

    async def expire_offers(self) -> int:
        """Requeue every offer past its deadline (each claimed by one node); returns how many."""
        now = self.now_ms()
        expired = 0
        for conversation_id in await self.store.due_offers(now, lease_ms=5000):
            live = await self.store.conversation(conversation_id)
            if live is None or live.state != "offered":
                continue
            missed = await self._requeue(conversation_id, live.agent_id, missed=True)
            if missed is None:
                continue
            expired += 1
            await self.listener.offer_withdrawn(conversation_id, live.agent_id, "timeout")
            if missed >= self.config.max_missed:
                await self.listener.agent_missed(live.agent_id, missed)
        return expired

    def _wrapup_deadline(self) -> int:
        return self.now_ms() + int(self.config.wrapup_s * 1000)

    async def escalate(self, limit: int = 500) -> int:
        """Move waiting contacts on to the escalation steps their wait has reached; returns how many moved."""
        moved = 0
        now = self.now_ms()
        for queue, steps in self.escalations.items():
            for cid, enqueued_ms, base, step in await self.store.waiting_times(queue, limit):
                reached = escalation.step_reached(steps, (now - enqueued_ms) / 1000)
                if reached <= step:
                    continue
                priority = escalation.priority_at(base, steps, reached)
                overflow = escalation.overflow_at(steps, reached)
                relax = escalation.relax_at(steps, reached)
                score = policy.queue_score(priority, enqueued_ms)
                if await self.store.escalate((cid, queue), reached, priority, score, overflow, relax):
                    moved += 1
                    await self.listener.escalated(cid, reached, priority, sorted(overflow))
                    await self.listener.changed(queue)
                    await self.dispatch_contact(cid)
        return moved

    async def expire_wrapups(self) -> int:
        """Free the slots of wrap-ups past their time limit (each claimed by one node); returns how many."""
        expired = 0
        for conversation_id in await self.store.due_wrapups(self.now_ms(), lease_ms=5000):
            live = await self.store.conversation(conversation_id)
            if live is None or live.state != "wrapup":
                continue
            if await self.store.release(conversation_id, live.agent_id, self.now_ms()):
                expired += 1
                await self.listener.wrapup_expired(conversation_id, live.agent_id)
                await self.listener.changed("")
                await self.dispatch_agent(live.agent_id)
        return expired

    async def end(self, conversation_id: str, agent_id: str = "") -> str:
        """The conversation ends (agent id '' = the citizen ended it); the agent moves to wrap-up."""
        outcome = await self.store.end(conversation_id, agent_id, self.now_ms(), self._wrapup_deadline())
        await self.listener.changed("")
        return outcome

    async def release(self, conversation_id: str, agent_id: str) -> bool:
        """Wrap-up done: the agent's slot frees and they are offered the next contact."""
        ok = await self.store.release(conversation_id, agent_id, self.now_ms())
        if ok:
            await self.listener.changed("")
            await self.dispatch_agent(agent_id)
        return ok

    async def transfer(
        self, conversation_id: str, agent_id: str, queue: str, to_agent: str = "", dispatch: bool = True
    ) -> bool:
        """Move an assigned conversation to ``queue`` (keeping its arrival time) and route it there;
        named ``to_agent``, it waits for that agent alone for ``config.reserve_named_s``. With
        ``dispatch`` False the caller records the transfer first, then calls ``routed_on``."""
        live = await self.store.conversation(conversation_id)
        if live is None:
            return False
        score = policy.queue_score(live.priority, live.enqueued_ms)
        until = self.now_ms() + int(self.config.reserve_named_s * 1000) if to_agent else 0
        skip_ms = int(self.config.skip_after_decline_s * 1000)
        if not await self.store.transfer(conversation_id, agent_id, queue, score, to_agent, until, skip_ms):
            return False
        await self.listener.changed(queue)
        if dispatch:
            await self.routed_on(conversation_id, agent_id)
        return True

    async def steer(self, conversation_id: str, queue: str | None, priority: int | None) -> str | None:
        """A supervisor moves a waiting contact to ``queue`` and/or sets its ``priority``, keeping its arrival
        time; the queue it was in, or None if it no longer waits. The caller records it, then dispatches."""
        live = await self.store.conversation(conversation_id)
        if live is None or live.state != "queued":
            return None
        to, level = queue or live.queue, live.priority if priority is None else priority
        if not await self.store.steer(conversation_id, to, level, policy.queue_score(level, live.enqueued_ms)):
            return None
        await self.listener.changed(live.queue)
        await self.listener.changed(to)
        return live.queue

    async def routed_on(self, conversation_id: str, from_agent: str) -> None:
        """After a transfer: offer the conversation on, and the freed agent their next contact."""
        await self.dispatch_contact(conversation_id)
        await self.dispatch_agent(from_agent)

    async def abandon(self, conversation_id: str) -> tuple[str, str]:
        """The citizen left: (state it was in, agent who held it or '')."""
        live = await self.store.conversation(conversation_id)
        state, agent_id = await self.store.abandon(conversation_id, self.now_ms(), self._wrapup_deadline())
        await self.listener.changed(live.queue if live is not None and state in ("queued", "offered") else "")
        if state == "offered" and agent_id:
            await self.dispatch_agent(agent_id)
        return state, agent_id

    async def set_status(
        self, agent_id: str, status: str, profile: Profile, *, name: str, reason: str = "", dispatch: bool = True
    ) -> Agent | None:
        """Set an agent's status and routing profile (a changed profile takes effect at their next offer);
        going away withdraws pending offers, going available offers them work (unless ``dispatch`` is
        False: the caller then tells the agent first and calls ``dispatch_agent``)."""
        old = await self.store.set_status(agent_id, status, self.now_ms(), profile, name=name, reason=reason)
        if status != "available":
            for conversation_id in await self.store.offers_of(agent_id):
                if await self._requeue(conversation_id, agent_id) is not None:
                    await self.listener.offer_withdrawn(conversation_id, agent_id, "away")
        if old != status:
            await self.listener.changed("")
        if status == "available" and dispatch:
            await self.dispatch_agent(agent_id)
        return await self.store.agent(agent_id)

    async def route_waiting(self, queues: Iterable[str], depth: int = 3) -> int:
        """Try again the first contacts of each queue, and every agent free to take one of them,
        so that no contact waits while an agent who may take it is free (a safety net: arrivals and
        freed slots route at once)."""
        offered = 0
        free: set[str] = set()
        for queue in queues:
            waiting = await self.store.waiting(queue)
            for conversation_id in waiting[:depth]:
                offered += await self.dispatch_contact(conversation_id) is not None
            if waiting:
                free |= set(await self.store.ready_agents(queue))
        for agent_id in sorted(free):
            offered += await self.dispatch_agent(agent_id)
        return offered

    async def restore(self, conversations: Iterable[LiveConversation]) -> list[str]:
        """Put back what Redis lost of the live conversations (from the system of record); returns
        the ids restored (those Redis still knew are left as they are)."""
        restored = []
        for c in conversations:
            score = policy.queue_score(c.priority, c.enqueued_ms)
            if await self.store.restore(c, c.priority, score, self._wrapup_deadline()):
                restored.append(c.id)
        await self.store.mark_built()
        return restored


def receipt(decision: Decision, contact: Contact) -> dict[str, Any]:
    """The routing receipt kept with an offer: why this agent, and who was skipped and why."""
    return {
        "rule": decision.rule,
        "queue": contact.queue,
        "priority": contact.priority,
        "step": contact.step,
        "chosen": decision.agent_id,
        "ranked": list(decision.ranked),
        "eligible": decision.eligible_count,
        "skipped": [{"agent_id": s.agent_id, "reason": s.reason} for s in decision.skipped],
        "unlisted": decision.unlisted,
    }
