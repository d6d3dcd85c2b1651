"""The decisions made inside Redis (``router/lua/_decide.lua``) are the pure core's (``router/policy.py``).

Hypothesis builds random desks on the real Redis: agents with queues in a profile order, skill levels,
statuses, idle times (ties included), loads and declined contacts; queues with each of the four
strategies; contacts of mixed priority. Then every waiting contact is routed, and every free agent
is filled, one decision at a time: before each, the pure core decides on what Redis holds, and the
script must choose the same agent (and contact), rank the same agents and count the same eligible.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from router import policy
from router.model import DEFAULT_CAPACITY, Contact, Decision, Profile
from router.service import Listener, RouterConfig, RouterService
from router.store import LiveConversation, RouterStore

T0 = 1_767_225_600_000
QUEUES = ("q0", "q1", "q2")
IDS = ("3", "12", "7", "a", "25", "b10")  # numbers and text: round robin orders numbers as numbers
AGENT = st.fixed_dictionaries(
    {
        "queues": st.lists(st.sampled_from(QUEUES), min_size=1, unique=True),
        "levels": st.lists(st.integers(1, 5), min_size=3, max_size=3),
        "chat": st.integers(1, 3),
        "status": st.sampled_from(("available", "available", "available", "away", "offline")),
        "idle": st.integers(0, 3),  # few values: ties in idle time are common
        "exclusive": st.booleans(),
    }
)
DESK = st.fixed_dictionaries(
    {
        "agents": st.lists(AGENT, min_size=1, max_size=len(IDS)),
        "strategies": st.lists(st.sampled_from(policy.STRATEGIES), min_size=3, max_size=3),
        "contacts": st.lists(st.tuples(st.sampled_from(QUEUES), st.integers(0, 2), st.booleans()), max_size=10),
        "loads": st.lists(st.tuples(st.integers(0, 5), st.sampled_from(("chat", "chat", "voice"))), max_size=8),
        "declines": st.lists(st.tuples(st.integers(0, 9), st.integers(0, 5)), max_size=6),
        "last": st.sampled_from(("", *IDS)),
    }
)
SETTINGS = settings(
    max_examples=2 * int(os.environ.get("CONTACTD_HYPOTHESIS_EXAMPLES", "60")),  # about 2 s per 100
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class Heard(Listener):
    """A listener that keeps the decisions that made offers."""

    def __init__(self) -> None:
        self.decisions: list[tuple[Contact, Decision]] = []

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        self.decisions.append((contact, decision))

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None: ...
    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None: ...
    async def escalated(self, conversation_id: str, step: int, priority: int, overflow: list[str]) -> None: ...
    async def agent_missed(self, agent_id: str, missed: int) -> None: ...
    async def changed(self, queue: str) -> None: ...


def _profile(a: dict[str, Any]) -> Profile:
    levels = dict(zip(QUEUES, a["levels"], strict=True))
    return Profile(tuple(a["queues"]), {**DEFAULT_CAPACITY, "chat": a["chat"]}, levels, a["exclusive"])


async def _desk(router: RouterService, desk: dict[str, Any], clock: list[int]) -> list[str]:
    """Set the desk up without routing anything; the ids of the contacts, waiting."""
    store, ids = router.store, IDS[: len(desk["agents"])]
    router.strategies = dict(zip(QUEUES, desk["strategies"], strict=True))
    if desk["last"]:
        for queue in QUEUES:
            await store.set_round_robin_last(queue, desk["last"])
    profiles = {agent_id: _profile(a) for agent_id, a in zip(ids, desk["agents"], strict=True)}
    for agent_id, a in sorted(zip(ids, desk["agents"], strict=True), key=lambda p: p[1]["idle"]):
        clock[0] = T0 + a["idle"] * 1000
        await router.set_status(agent_id, "available", profiles[agent_id], name=agent_id, dispatch=False)
    clock[0] = T0 + 10_000
    contacts = []
    for n, (queue, priority, voice) in enumerate(desk["contacts"]):
        cid = f"c{n}"
        live = LiveConversation(cid, queue, "voice" if voice else "chat", "queued", "", T0 + n, "Ann", "en", priority)
        await router.enqueue(live)
        contacts.append(cid)
    for n, (who, channel) in enumerate(desk["loads"]):  # work already held: offered straight to the agent
        live = LiveConversation(f"held{n}", QUEUES[0], channel, "queued", "", T0, "Ben", "en", 0)
        await router.enqueue(live)
        contact = await store.contact(live.id)
        assert contact is not None
        await store.offer(contact, ids[who % len(ids)], clock[0] + 30_000)
    for cn, who in desk["declines"]:
        if contacts:
            cid, agent_id = contacts[cn % len(contacts)], ids[who % len(ids)]
            await router.store.redis.sadd(store.keys.skip(cid), agent_id)
    for agent_id, a in zip(ids, desk["agents"], strict=True):
        if a["status"] != "available":
            await router.set_status(agent_id, a["status"], profiles[agent_id], name=agent_id, dispatch=False)
    return contacts


async def _expected(router: RouterService, cid: str) -> Decision | None:
    store, now = router.store, router.now_ms()
    contact = await store.contact(cid)
    if contact is None:
        return None
    strategy = router.strategies.get(contact.queue, "longest-idle")
    last = await store.round_robin_last(contact.queue)
    return policy.choose_agent(contact, await store.agents_serving(contact.queue), now, strategy, last)


def _same(got: Decision | None, want: Decision | None) -> None:
    assert (got is None) == (want is None)
    if got is None or want is None:
        return
    assert (got.agent_id, got.rule) == (want.agent_id, want.rule)
    assert got.ranked == want.ranked[:10] and got.eligible_count == len(want.ranked)


async def _check(redis_url: str, desk: dict[str, Any]) -> None:
    redis, clock, heard = Redis.from_url(redis_url), [T0], Heard()
    store = RouterStore(redis, "t" + uuid.uuid4().hex[:12])
    router = RouterService(store, heard, RouterConfig(), lambda: clock[0])
    try:
        contacts = await _desk(router, desk, clock)
        for cid in contacts:  # the contact side: an arrival (or a sweep) routes one contact
            want = await _expected(router, cid)
            _same(await router.decide(cid), want)
        for agent_id in IDS[: len(desk["agents"])]:  # the agent side: a freed agent is filled, slot by slot
            while True:
                agent = await store.agent(agent_id)
                assert agent is not None
                heads = await store.queue_heads(agent.queues, 200)
                contact = policy.choose_contact(agent, heads, clock[0]) if agent.status == "available" else None
                want = await _expected(router, contact.id) if contact else None
                made = await store.route_agent(agent_id, clock[0], clock[0] + 30_000, router._strategies(), 1)
                assert [d.contact_id for d, _ in made] == ([contact.id] if contact else [])
                if not made:
                    break
                _same(made[0][0], want)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{store.keys.prefix}:*", count=500)]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


@SETTINGS
@given(desk=DESK)
def test_redis_decides_as_the_pure_core_does(server_urls: tuple[str, str], desk: dict[str, Any]) -> None:
    asyncio.run(_check(server_urls[0], desk))
