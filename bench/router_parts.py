"""The router benchmark's shared parts and its first scenario, the backlog drain (``bench/router.py`` runs them)."""

from __future__ import annotations

import argparse
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bench.harness import (
    Meter,
    client_cpu_s,
    command_calls,
    cpu_s,
    gather_limited,
    now,
    timed,
)
from router.model import CHANNELS, Contact, Decision, Profile
from router.service import Listener, RouterConfig, RouterService
from router.store import LiveConversation, RouterStore

CAPACITY = {"voice": 1, "chat": 3, "sms": 5, "email": 5}  # contactd's defaults (CONTACTD_CHAT_CAPACITY is 3)
TARGET_DECISIONS_PER_S = 10_000  # the targets: 2 cores, one Redis, one contactd process
TARGET_P99_MS = 50.0
MAX_PASSES = 5  # dispatch passes in the drain
FULL_SAMPLE = 20  # full agents whose dispatch_agent is timed one by one after the drain
LIGHT = (20.0, 3.0)  # arrivals/s and seconds of the light phase, before the steady one
HANDLE_S = (0.5, 1.5)  # robot agents' handle time, uniform between these, in seconds
RAW_S, BATCH = 3.0, 100  # length of each EVALSHA run; EVALSHA calls per pipeline
DESK_INFLIGHT = 32  # robot agents' router calls at once; with --max-inflight below redis-py's pool of 100
SETTLE_S = 5.0  # after the last arrival, how long contacts still waiting may take to be offered
Out = dict[str, Any]
Team = dict[str, list[str]]  # agent id -> the queues they serve, first first


def clock_ms() -> int:
    """The service's clock, as contactd's (``contactd/app.py``): wall time in ms."""
    return int(time.time() * 1000)


class Recorder(Listener):
    """Records when each contact was first offered, and hands each offer to ``on_offer`` (the robot agents)."""

    def __init__(self, on_offer: Callable[[str, str], None] | None = None) -> None:
        self.offered_at: dict[str, float] = {}  # contact id -> now() at its first offer
        self.offers = 0
        self.on_offer = on_offer

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        self.offered_at.setdefault(contact.id, now())
        self.offers += 1
        if self.on_offer is not None:
            self.on_offer(contact.id, agent_id)

    # Robot agents answer at once, wrap-ups end in time, no queue escalates, boards are not measured.
    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None: ...
    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None: ...
    async def agent_missed(self, agent_id: str, missed: int) -> None: ...
    async def escalated(self, conversation_id: str, step: int, priority: int, overflow: list[str]) -> None: ...
    async def changed(self, queue: str) -> None: ...


@dataclass
class Bench:
    """What the scenarios share: the client, Redis's pid (None: external), the options, the random source."""

    redis: Redis
    redis_pid: int | None
    args: argparse.Namespace
    rng: random.Random

    def meter(self) -> Meter:
        pid = self.redis_pid
        return Meter({"redis": lambda: cpu_s(pid) if pid else 0.0, "bench": client_cpu_s})

    def queues(self) -> list[str]:
        return [f"q{n:02d}" for n in range(self.args.queues)]

    def team(self) -> Team:
        """Agents "1".."N", each serving 3-5 random queues."""
        queues = self.queues()
        return {str(n): self.rng.sample(queues, self.rng.randint(3, 5)) for n in range(1, self.args.agents + 1)}

    def service(self, listener: Listener) -> tuple[RouterService, RouterStore]:
        store = RouterStore(self.redis, "bench-router-" + secrets.token_hex(4))
        return RouterService(store, listener, RouterConfig(), clock_ms), store


def conversation(cid: str, queue: str, priority: int) -> LiveConversation:
    return LiveConversation(cid, queue, "chat", "queued", "", clock_ms(), "Bench Citizen", "en", priority)


async def set_team(service: RouterService, team: Team, status: str, concurrency: int) -> None:
    """Every agent's status and profile, without offering them anything."""
    ids = list(team)

    async def one(i: int) -> None:
        a = ids[i]
        await service.set_status(a, status, Profile(tuple(team[a]), CAPACITY), name=f"Agent {a}", dispatch=False)

    await gather_limited(len(ids), concurrency, one)


async def forget(redis: Redis, store: RouterStore) -> None:
    """Delete a tenant's keys (they matter on an external Redis)."""
    keys = [k async for k in redis.scan_iter(match=store.keys.prefix + ":*", count=1000)]
    for n in range(0, len(keys), 1000):
        await redis.unlink(*keys[n : n + 1000])


async def dispatch_all(service: RouterService, ids: list[str], concurrency: int, deadline: float) -> None:
    """``dispatch_agent`` for each of ``ids``, ``concurrency`` at a time; none starts after ``deadline``
    (and none is cancelled, so that every offer Redis made is one the listener heard)."""

    async def one(i: int) -> None:
        if now() < deadline:
            await service.dispatch_agent(ids[i])

    await gather_limited(len(ids), concurrency, one)


async def dispatch_passes(b: Bench, service: RouterService, heard: Recorder, ids: list[str]) -> Out:
    """``dispatch_agent`` for every agent, then for those left with a free chat slot, until none is left,
    a pass offers nothing (it may offer to a longer-idle agent than the one dispatched) or time is up."""
    times: list[float] = []
    offers: list[int] = []
    meter, calls, deadline = b.meter(), await command_calls(b.redis), now() + b.args.drain_limit
    meter.begin()
    while ids and len(times) < MAX_PASSES and (not offers or offers[-1]) and now() < deadline:
        before, t = heard.offers, now()
        await dispatch_all(service, ids, b.args.concurrency, deadline)
        times.append(now() - t)
        offers.append(heard.offers - before)
        ids = [a.id for a in await service.store.all_agents() if a.free("chat")]
    meter.end()
    calls = await command_calls(b.redis) - calls
    busy_s, made = sum(t for t, n in zip(times, offers, strict=True) if n), sum(offers)
    return {
        "drain_offers": made,
        "drain_s": round(busy_s, 3),
        "drain_cut_off": bool(ids) and now() >= deadline,
        "drain_passes_s": [round(t, 3) for t in times],
        "drain_passes_offers": offers,
        "decisions_per_s": round(made / busy_s, 1) if busy_s else None,
        "drain_bench_cpu_ms_per_offer": round(meter.used["bench"] * 1000 / max(made, 1), 3),
        "drain_redis_cpu_ms_per_offer": round(meter.used["redis"] * 1000 / max(made, 1), 3),
        "drain_redis_commands_per_offer": round(sum(calls.values()) / max(made, 1), 1),
        "drain_redis_commands": dict(calls.most_common(6)),
    }


async def fill(store: RouterStore) -> int:
    """Offer what a cut-off drain left straight through the store (no decision, not timed), so that every
    agent is full before ``route_waiting`` runs; returns the offers made."""
    filled = 0
    for agent in [a for a in await store.all_agents() if a.free("chat")]:
        for contact in await store.queue_heads(agent.queues, agent.free("chat")):
            filled += await store.offer(contact, agent.id, clock_ms() + 60_000) == "OK"
    return filled


async def when_full(b: Bench, service: RouterService, queues: list[str]) -> Out:
    """With every agent full: ``dispatch_agent`` for a few of them, one by one, and one ``route_waiting``."""
    out: Out = {"drain_filled": await fill(service.store)}
    agents = await service.store.all_agents()
    sample, t = [a.id for a in agents][:FULL_SAMPLE], now()
    for agent_id in sample:
        await service.dispatch_agent(agent_id)
    out["full_dispatch_agent_ms"] = round((now() - t) * 1000 / max(len(sample), 1), 2)
    offered, took = await timed(service.route_waiting(queues), b.args.route_limit)
    return out | {
        "drain_free_slots_left": sum(a.free("chat") for a in agents),
        "drain_load_in_redis": sum(a.load.get("chat", 0) for a in agents),
        "route_waiting_agents": sum(a.status == "available" and any(a.free(ch) for ch in CHANNELS) for a in agents),
        "route_waiting_offers": offered,
        "route_waiting_s": None if took is None else round(took, 3),
    }


async def drain(b: Bench) -> Out:
    """Scenario 1: offers made per second from a backlog, then the cost of finding nothing to do."""
    heard = Recorder()
    service, store = b.service(heard)
    team, queues = b.team(), b.queues()
    plan = [(b.rng.choice(queues), b.rng.randint(0, 2)) for _ in range(b.args.contacts)]
    try:
        t = now()
        await set_team(service, team, "offline", b.args.concurrency)
        await gather_limited(len(plan), b.args.concurrency, lambda i: service.enqueue(conversation(f"d{i}", *plan[i])))
        await set_team(service, team, "available", b.args.concurrency)
        out: Out = {"drain_setup_s": round(now() - t, 2)}
        out |= await dispatch_passes(b, service, heard, list(team))
        out |= await when_full(b, service, queues)
        return out | {"drain_expected": min(b.args.contacts, b.args.agents * CAPACITY["chat"])}
    finally:
        await forget(b.redis, store)
