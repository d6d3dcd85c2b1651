"""Random sequences of routing events on the real Lua scripts in the real Redis (a Hypothesis state machine).

Contacts arrive; agents change status and skills; offers are accepted (and refused to the wrong
agent), declined or missed; conversations end, wrap up, transfer or are abandoned; Redis loses the
tenant and is rebuilt. After every step Redis is compared with a plain model of the system of record
(fed, as contactd's is, by the router's listener and by what callers get back), and checked for:

1. holdings: no contact is held (offered, assigned or in wrap-up) by two agents, and each agent's
   load per channel equals the number of contacts it holds on that channel;
2. capacity: no agent holds more than its capacity on any channel;
3. nothing stuck: after ``route_waiting`` over every queue, no contact waits while an available
   agent serving its queue has a free slot, has not declined or missed it and is not on a call;
4. order: each queue's sorted set is its waiting contacts by priority (desc), then arrival (asc);
5. offers: every offer ends exactly once (accept, reject, timeout or withdrawal), a timeout never
   before its deadline, and the open ones are exactly those Redis shows as offered;
6. indexes: the sets the routing scripts decide from (each queue's ready agents per channel, scored by
   idle time, and its count of waiting contacts per channel) say exactly what the hashes say.

The model is in ``tests/router/ledger.py``; the two failures the machine found (3 and 5) are replayed
deterministically in ``test_machine_findings.py``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from hypothesis.stateful import run_state_machine_as_test as run_machine
from redis.asyncio import Redis

from router.model import CHANNELS, DEFAULT_CAPACITY, Agent, Profile
from router.service import RouterService
from router.store import RouterStore
from tests.router.ledger import CONFIG, T0, TIMEOUT_MS, Conv, Desk, Ledger

QUEUES = ("q0", "q1", "q2")
STATUSES = ("available", "available", "away", "offline")  # agents are available half the time
HELD = ("offered", "assigned", "wrapup")
ROW = ("state", "agent", "queue", "priority", "enqueued_ms")
PROFILE = st.tuples(
    st.lists(st.sampled_from(QUEUES), min_size=1, unique=True), st.integers(1, 3), st.sampled_from(STATUSES)
)
CHANNEL = st.sampled_from(("chat", "chat", "chat", "voice"))
ARRIVALS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), CHANNEL), min_size=1, max_size=3)
SETTINGS = settings(
    max_examples=int(os.environ.get("CONTACTD_HYPOTHESIS_EXAMPLES", "60")),
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _t(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _could_take(agent: Agent, queue: str, channel: str = "chat", named: bool = False) -> bool:
    """Available, serving ``queue`` (or named for the contact), a free ``channel`` slot and not on a voice call."""
    on_call = channel != "voice" and agent.load.get("voice", 0) > 0
    serves = named or queue in agent.queues
    return agent.status == "available" and serves and agent.free(channel) > 0 and not on_call


@dataclass
class Snapshot:
    """What Redis holds of the tenant."""

    convs: dict[str, dict[str, str]]
    skips: dict[str, set[str]]
    queues: dict[str, list[str]]
    offers: set[str]
    agents: dict[str, Agent]
    ready: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


class RouterMachine(RuleBasedStateMachine):
    """RouterService on a fresh tenant of the real Redis, driven on a private event loop."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = Redis.from_url(redis_url)
        self.clock = [T0]
        self.ledger = Ledger(self.clock, self._missed_too_many)
        self.store = RouterStore(self.redis, "t" + uuid.uuid4().hex[:12])
        self.router = RouterService(self.store, self.ledger, CONFIG, lambda: self.clock[0])
        self.queues: tuple[str, ...] = ()
        self.agents: dict[str, Desk] = {}
        self.created: list[str] = []

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        try:
            self.run(self._delete_tenant())
            self.run(self.redis.aclose())
        finally:
            self.run(self.loop.shutdown_asyncgens())
            self.loop.close()

    def _in(self, state: str) -> list[str]:
        return sorted(c.id for c in self.ledger.convs.values() if c.state == state)

    def _conv(self, data: st.DataObject, state: str | None = None) -> Conv:
        ids = self._in(state) if state else sorted(self.ledger.convs)
        return self.ledger.convs[data.draw(st.sampled_from(ids), label="conversation")]

    def _agent(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.agents)), label="agent")

    async def _status(self, agent_id: str) -> None:
        p = self.agents[agent_id]
        capacity = {**DEFAULT_CAPACITY, "chat": p.chat}
        await self.router.set_status(agent_id, p.status, Profile(p.queues, capacity), name=agent_id)

    async def _missed_too_many(self, agent_id: str) -> None:
        self.agents[agent_id].status = "away"
        await self._status(agent_id)

    async def _delete_tenant(self) -> None:
        """Delete this tenant's keys only (SCAN, never FLUSHDB): other tests share the server."""
        doomed = [key async for key in self.redis.scan_iter(match=f"{self.store.keys.prefix}:*", count=500)]
        if doomed:
            await self.redis.delete(*doomed)

    @initialize(n_queues=st.integers(2, 3), agents=st.lists(PROFILE, min_size=3, max_size=5))
    def setup(self, n_queues: int, agents: list[tuple[list[str], int, str]]) -> None:
        """2-3 queues; 3-5 agents, each serving some of them, with a chat capacity of 1-3 and a first status."""
        self.queues = QUEUES[:n_queues]
        for n, (queues, chat, status) in enumerate(agents):
            served = tuple(q for q in queues if q in self.queues) or ("q0",)
            self.agents[f"a{n}"] = Desk(served, chat, status)
            self.run(self._status(f"a{n}"))

    @rule(arrivals=ARRIVALS)
    def arrive(self, arrivals: list[tuple[int, int, str]]) -> None:
        """1-3 contacts arrive, each as (queue index, priority 0-2, channel): chats, and some calls."""
        for queue, priority, channel in arrivals:
            self.clock[0] += 1000  # distinct arrival times: within a priority, the order is by arrival alone
            name, queue_name = f"c{len(self.created)}", self.queues[queue % len(self.queues)]
            conv = Conv(name, queue_name, priority, self.clock[0], channel=channel)
            self.created.append(conv.id)
            self.ledger.convs[conv.id] = conv
            self.run(self.router.arrive(conv.live()))

    @rule(data=st.data(), status=st.sampled_from(STATUSES))
    def set_status(self, data: st.DataObject, status: str) -> None:
        agent_id = self._agent(data)
        self.agents[agent_id].status = status
        self.run(self._status(agent_id))

    @rule(data=st.data())
    def change_skills(self, data: st.DataObject) -> None:
        """The agent's queues change; the same status is set again with them."""
        agent_id = self._agent(data)
        queues = data.draw(st.lists(st.sampled_from(self.queues), min_size=1, unique=True), label="queues")
        self.agents[agent_id].queues = tuple(queues)
        self.run(self._status(agent_id))

    @precondition(lambda self: self._in("offered"))
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        """One or more agents accept the offers they hold."""
        for cid in data.draw(st.lists(st.sampled_from(self._in("offered")), min_size=1, unique=True), label="taken"):
            conv = self.ledger.convs[cid]
            assert self.run(self.router.accept(cid, conv.agent))
            conv.state = "assigned"
            self.ledger.end_offer(cid, conv.agent, "accept")

    @precondition(lambda self: self.ledger.convs)
    @rule(data=st.data())
    def accept_by_the_wrong_agent(self, data: st.DataObject) -> None:
        conv = self._conv(data)
        holder = conv.agent if conv.state == "offered" else None
        agent_id = data.draw(st.sampled_from([a for a in sorted(self.agents) if a != holder]), label="agent")
        assert not self.run(self.router.accept(conv.id, agent_id))

    @precondition(lambda self: self._in("offered"))
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        conv = self._conv(data, "offered")
        agent_id, conv.state, conv.agent = conv.agent, "queued", ""
        assert self.run(self.router.reject(conv.id, agent_id))
        self.ledger.end_offer(conv.id, agent_id, "reject")

    @rule(late_s=st.integers(1, 90))
    def time_out_offers(self, late_s: int) -> None:
        """The clock passes every pending deadline; afterwards no offer is open past its deadline."""
        self.clock[0] += TIMEOUT_MS + late_s * 1000
        self.run(self.router.expire_offers())
        assert [o for o in self.ledger.open.values() if o.deadline_ms <= self.clock[0]] == []

    @precondition(lambda self: self._in("assigned"))
    @rule(data=st.data())
    def end(self, data: st.DataObject) -> None:
        conv = self._conv(data, "assigned")
        assert self.run(self.router.end(conv.id, conv.agent)) == "OK"
        conv.state = "wrapup"

    @precondition(lambda self: self._in("wrapup"))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        conv = self.ledger.convs.pop(self._conv(data, "wrapup").id)
        assert self.run(self.router.release(conv.id, conv.agent))

    @precondition(lambda self: self.ledger.convs)
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        """The citizen leaves, whatever the state: a waiting or offered contact is gone, a held one wraps up."""
        conv = self._conv(data)
        before = (conv.state, conv.agent)
        if conv.state in ("queued", "offered"):
            del self.ledger.convs[conv.id]
        else:
            conv.state = "wrapup"
        assert self.run(self.router.abandon(conv.id)) == before
        if before[0] == "offered":
            self.ledger.end_offer(conv.id, before[1], "withdrawal")

    @precondition(lambda self: self._in("assigned"))
    @rule(data=st.data())
    def transfer(self, data: st.DataObject) -> None:
        """To a queue, or to a named agent (who alone may take it for a while, from any queue)."""
        conv = self._conv(data, "assigned")
        agent_id, conv.state, conv.agent = conv.agent, "queued", ""
        conv.queue = data.draw(st.sampled_from(self.queues), label="to queue")
        named = data.draw(st.sampled_from(("", *sorted(self.agents))), label="to agent")
        conv.reserved_for = named
        conv.reserved_until_ms = self.clock[0] + int(CONFIG.reserve_named_s * 1000) if named else 0
        assert self.run(self.router.transfer(conv.id, agent_id, conv.queue, to_agent=named))

    @rule()
    def route_waiting(self) -> None:
        self.run(self.router.route_waiting(self.queues))

    @rule(order=st.permutations(range(5)))
    def flush_and_rebuild(self, order: list[int]) -> None:
        """Redis loses the tenant; it is restored from the record and the agents set their statuses again."""
        for conversation_id, agent_id in list(self.ledger.open):
            self.ledger.end_offer(conversation_id, agent_id, "withdrawal")
        for conv in self.ledger.convs.values():
            conv.reserved_for, conv.reserved_until_ms = "", 0  # the record keeps no reservation: anyone may take it
            if conv.state == "offered":
                conv.state, conv.agent = "queued", ""
        self.run(self._rebuild([f"a{n}" for n in order if f"a{n}" in self.agents]))

    async def _rebuild(self, agent_ids: list[str]) -> None:
        await self._delete_tenant()
        lives = [c.live() for c in self.ledger.convs.values()]
        assert sorted(await self.router.restore(lives)) == sorted(c.id for c in lives)
        for agent_id in agent_ids:
            await self._status(agent_id)

    @invariant()
    def routing_is_safe(self) -> None:
        """Invariants 1, 2, 4 and 5 now; then, after a ``route_waiting`` sweep, 3 and the others again."""
        self.run(self._check())

    async def _check(self) -> None:
        self._check_snapshot(await self._snapshot())
        await self.router.route_waiting(self.queues)
        snap = await self._snapshot()
        self._check_snapshot(snap)
        self._check_not_stuck(snap)

    async def _snapshot(self) -> Snapshot:
        k, pipe = self.store.keys, self.redis.pipeline(transaction=False)
        for cid in self.created:
            pipe.hgetall(k.conv(cid))
            pipe.smembers(k.skip(cid))
        for queue in self.queues:
            pipe.zrange(k.queue(queue), 0, -1)
        pipe.zrange(k.offers(), 0, -1)
        for queue in self.queues:
            pipe.hgetall(k.waiting_counts(queue))
            for channel in CHANNELS:
                pipe.zrange(k.ready(queue, channel), 0, -1, withscores=True)
        replies = iter(await pipe.execute())
        snap = Snapshot({}, {}, {}, set(), {a.id: a for a in await self.store.agents(self.agents)})
        for cid in self.created:
            h, skip = next(replies), next(replies)
            if h:
                snap.convs[cid] = {_t(f): _t(v) for f, v in h.items()}
            snap.skips[cid] = {_t(a) for a in skip}
        snap.queues = {q: [_t(c) for c in next(replies)] for q in self.queues}
        snap.offers = {_t(c) for c in next(replies)}
        for queue in self.queues:
            snap.counts[queue] = {_t(ch): int(n) for ch, n in next(replies).items() if int(n)}
            for channel in CHANNELS:
                snap.ready[queue, channel] = {_t(a): score for a, score in next(replies)}
        return snap

    def _check_snapshot(self, snap: Snapshot) -> None:
        """Redis routes the record's live conversations (same state, agent, queue, place); then 1, 2, 4, 5."""
        assert {cid: [h.get(f) for f in ROW] for cid, h in snap.convs.items()} == {
            c.id: c.row() for c in self.ledger.convs.values()
        }
        checks = (
            self._check_holdings,
            self._check_capacity,
            self._check_order,
            self._check_offers,
            self._check_indexes,
        )
        for check in checks:
            check(snap)

    def _check_holdings(self, snap: Snapshot) -> None:
        """1: one holder per contact, a waiting one in its own queue only; each load counts the agent's holdings."""
        held: Counter[tuple[str, str]] = Counter()
        for cid, h in snap.convs.items():
            if h["state"] in HELD:
                held[h["agent"], h["channel"]] += 1
            else:
                assert (h["state"], h["agent"]) == ("queued", ""), (cid, h)
        placed = sorted((cid, q) for q, ids in snap.queues.items() for cid in ids)
        assert placed == sorted((cid, h["queue"]) for cid, h in snap.convs.items() if h["state"] == "queued")
        assert snap.offers == {cid for cid, h in snap.convs.items() if h["state"] == "offered"}
        assert {a for a, _ in held} <= set(snap.agents)
        for agent_id, agent in snap.agents.items():
            assert dict(agent.load) == {ch: held[agent_id, ch] for ch in CHANNELS}, (agent, held)

    def _check_capacity(self, snap: Snapshot) -> None:
        """2: no agent holds more than its capacity on any channel (Redis has the directory's capacity)."""
        for agent in snap.agents.values():
            assert agent.status == "offline" or agent.capacity["chat"] == self.agents[agent.id].chat
            assert all(agent.load[ch] <= agent.capacity[ch] for ch in CHANNELS), agent

    def _check_order(self, snap: Snapshot) -> None:
        """4: a queue serves higher priority first, then earlier arrival."""
        for queue in self.queues:
            waiting = [c for c in self.ledger.convs.values() if (c.state, c.queue) == ("queued", queue)]
            waiting.sort(key=lambda c: (-c.priority, c.enqueued_ms))
            assert snap.queues[queue] == [c.id for c in waiting], queue

    def _check_offers(self, snap: Snapshot) -> None:
        """5: each offer has ended at most once, and is open exactly when Redis shows it offered."""
        assert self.ledger.errors == []
        for offer in self.ledger.offers:
            assert len(offer.endings) <= 1, offer
            assert bool(offer.endings) != (self.ledger.open.get((offer.conv, offer.agent)) is offer), offer
        assert set(self.ledger.open) == {(cid, h["agent"]) for cid, h in snap.convs.items() if h["state"] == "offered"}

    def _check_indexes(self, snap: Snapshot) -> None:
        """6: ready sets and waiting counts agree with the agents' and conversations' hashes."""
        for (queue, channel), ready in snap.ready.items():
            expected = {a.id: float(a.idle_since_ms) for a in snap.agents.values() if _could_take(a, queue, channel)}
            assert ready == expected, (queue, channel)
        for queue in self.queues:
            waiting = Counter(
                h["channel"] for h in snap.convs.values() if (h["state"], h["queue"]) == ("queued", queue)
            )
            assert snap.counts[queue] == dict(waiting), queue

    def _check_not_stuck(self, snap: Snapshot) -> None:
        """3: after the sweep no contact waits beside an agent who could take it now (while it is reserved for
        a named agent, beside that agent: they may take it from any queue)."""
        for queue, ids in snap.queues.items():
            for cid in ids:
                conv = self.ledger.convs[cid]
                named = conv.reserved_for if self.clock[0] < conv.reserved_until_ms else ""
                free = [
                    a.id
                    for a in snap.agents.values()
                    if a.id not in snap.skips[cid]
                    and (a.id == named or not named)
                    and _could_take(a, queue, conv.channel, named=a.id == named)
                ]
                assert not free, f"{cid} waits in {queue} while {free} could take it"


@pytest.mark.timeout(600)  # shrinking a failure against real Redis takes minutes
def test_routing_stays_safe_under_random_event_sequences(server_urls: tuple[str, str]) -> None:
    run_machine(lambda: RouterMachine(server_urls[0]), settings=SETTINGS)
