"""Router benchmark: routing decisions per second and arrival-to-offer latency, against raw EVALSHA.

    .venv/bin/python bench/router.py [--agents 1000] [--queues 50] [--contacts 10000] [--rate 1000]

Drives ``RouterService`` and ``RouterStore`` in this process, as one contactd
node does, on a real Redis (embedded in a temporary directory unless
``CONTACTD_BENCH_REDIS_URL`` is set), a new tenant per scenario: 1. a backlog
drained by ``dispatch_agent`` (decisions/s), then ``route_waiting`` with every
agent full; 2. arrivals paced at a light rate, then at ``--rate``, with robot
agents that accept, end and release (arrive() -> offered latency); 3. raw
EVALSHA of ``return 1`` on the same client (the denominator). The scenarios
are described in docs/performance.md. Human-readable lines first; the last
line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ first on sys.path, where this file would shadow the `router` package.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bench.harness import (
    Meter,
    client_cpu_s,
    command_calls,
    cpu_s,
    gather_limited,
    now,
    on_sigterm,
    pct,
    peak_rss_mb,
    run_loop,
    start_redis,
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


class Desk:
    """Robot agents: accept each offer at once, hold the chat for a random handle time, end it and release it."""

    def __init__(self, rng: random.Random, handle_s: tuple[float, float]) -> None:
        self.rng = rng
        self.handle_s = handle_s
        self.service: RouterService | None = None
        self.tasks: set[asyncio.Task[None]] = set()  # owned here: cancelled and awaited by close()
        self.gate = asyncio.Semaphore(DESK_INFLIGHT)
        self.closed = 0
        self.errors: list[str] = []

    def on_offer(self, cid: str, agent_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.serve(cid, agent_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve(self, cid: str, agent_id: str) -> None:
        assert self.service is not None
        try:
            async with self.gate:
                accepted = await self.service.accept(cid, agent_id)
            if not accepted:
                raise RuntimeError(f"accept of {cid} by agent {agent_id} refused")
            await asyncio.sleep(self.rng.uniform(*self.handle_s))
            async with self.gate:
                await self.service.end(cid, agent_id)
                released = await self.service.release(cid, agent_id)
            if not released:
                raise RuntimeError(f"release of {cid} by agent {agent_id} refused")
            self.closed += 1
        except Exception as e:
            self.errors.append(f"{cid}: {type(e).__name__}: {e}")

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def paced(b: Bench, service: RouterService, name: str, rate: float, seconds: float) -> dict[str, float]:
    """Call ``arrive()`` ``rate`` times a second for ``seconds``, at most ``--max-inflight`` at once; an
    arrival overdue (the loop was busy) starts at once. Returns contact id -> its ``arrive()`` call."""
    queues, called_at = b.queues(), {}
    gate = asyncio.Semaphore(b.args.max_inflight)
    tasks: set[asyncio.Task[int]] = set()

    async def arrive(cid: str) -> int:
        called_at[cid] = now()
        try:
            return await service.arrive(conversation(cid, b.rng.choice(queues), 0))
        finally:
            gate.release()

    start, n = now(), 0
    while now() < start + seconds:
        if (due := start + n / rate) > now():
            await asyncio.sleep(due - now())
            continue
        await gate.acquire()
        task = asyncio.get_running_loop().create_task(arrive(f"{name}{n}"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await asyncio.gather(*tasks)
    return called_at


async def phase(b: Bench, service: RouterService, heard: Recorder, name: str, rate: float, seconds: float) -> Out:
    """One paced run; its rate, latencies (arrive() call -> offered) and CPU, prefixed ``name``."""
    meter = b.meter()
    meter.begin()
    called_at = await paced(b, service, name, rate, seconds)
    meter.end()
    deadline = now() + SETTLE_S
    while now() < deadline and any(c not in heard.offered_at for c in called_at):
        await asyncio.sleep(0.05)
    lat = [heard.offered_at[c] - t for c, t in called_at.items() if c in heard.offered_at]
    first, last = min(called_at.values(), default=0.0), max(called_at.values(), default=0.0)
    return {
        f"{name}_planned_rate_per_s": rate,
        f"{name}_arrivals": len(called_at),
        f"{name}_rate_per_s": round((len(called_at) - 1) / (last - first), 1) if last > first else None,
        f"{name}_offered": len(lat),
        **{f"{name}_offer_{p}_ms": pct(lat, q) for p, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))},
        f"{name}_bench_cpu_s": meter.used["bench"],
        f"{name}_redis_cpu_s": meter.used["redis"],
    }


async def steady(b: Bench) -> Out:
    """Scenario 2: arrival-to-offer latency, at a light rate then at ``--rate``, while agents free slots."""
    desk = Desk(b.rng, HANDLE_S)
    heard = Recorder(desk.on_offer)
    service, store = b.service(heard)
    desk.service = service
    try:
        await set_team(service, b.team(), "available", b.args.concurrency)
        out = await phase(b, service, heard, "light", *LIGHT)
        out |= await phase(b, service, heard, "steady", b.args.rate, b.args.seconds)
    finally:
        await desk.close()
        await forget(b.redis, store)
    return out | {"steady_closed": desk.closed, "steady_errors": desk.errors[:20]}


async def evalsha_rate(b: Bench, batch: int) -> float:
    """Calls/s of ``return 1`` by ``--concurrency`` tasks for RAW_S seconds, ``batch`` per round trip
    (1: through an ``AsyncScript``, as ``RouterStore`` calls its scripts)."""
    script = b.redis.register_script("return 1")
    await script()
    count = 0

    async def worker(stop: float) -> None:
        nonlocal count
        while now() < stop:
            if batch == 1:
                await script(keys=[], args=[])
            else:
                pipe = b.redis.pipeline(transaction=False)
                for _ in range(batch):
                    pipe.evalsha(script.sha, 0)
                await pipe.execute()
            count += batch

    t = now()
    await asyncio.gather(*(worker(t + RAW_S) for _ in range(b.args.concurrency)))
    return count / (now() - t)


def figures_of(b: Bench, parts: Out) -> Out:
    """Every figure, the ratios to raw EVALSHA, and the measured figures as multiples of the targets."""
    a = b.args
    f: Out = {"bench": "router", "date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count()}
    f |= {"load_avg_1m": round(os.getloadavg()[0], 2), "redis_embedded": b.redis_pid is not None}
    f |= {k: getattr(a, k) for k in ("agents", "queues", "contacts", "concurrency", "max_inflight", "route_limit")}
    f |= {"handle_s": list(HANDLE_S), "batch": BATCH, **parts}
    rate, p99 = f["decisions_per_s"] or 0.0, f["steady_offer_p99_ms"]
    f["ratio"] = round(rate / f["evalsha_per_s"], 4) if f["evalsha_per_s"] else None
    f["ratio_pipelined"] = round(rate / f["evalsha_pipelined_per_s"], 4) if f["evalsha_pipelined_per_s"] else None
    f["decisions_vs_target"] = round(rate / TARGET_DECISIONS_PER_S, 4)
    f["offer_p99_vs_target"] = round(p99 / TARGET_P99_MS, 2) if p99 is not None else None
    f["decisions_target_met"] = rate >= TARGET_DECISIONS_PER_S
    kept_up = (f["steady_rate_per_s"] or 0.0) >= 0.95 * a.rate
    f["offer_p99_target_met"] = kept_up and p99 is not None and p99 <= TARGET_P99_MS
    f["bench_peak_rss_mb"] = peak_rss_mb(os.getpid())
    f["redis_peak_rss_mb"] = peak_rss_mb(b.redis_pid) if b.redis_pid else None
    return f


def problems_of(f: Out) -> list[str]:
    """What went wrong in the run (missing a target is not a problem of the run)."""
    problems = [f"steady: {e}" for e in f["steady_errors"]]
    taken, offers = f["drain_load_in_redis"], f["drain_offers"] + f["drain_filled"]
    if f["drain_free_slots_left"] or offers != taken:
        problems.append(
            f"drain: {offers} offers heard or filled, {taken} slots taken in Redis, {f['drain_free_slots_left']} free"
        )
    if f["route_waiting_offers"]:
        problems.append(f"route_waiting offered {f['route_waiting_offers']} with every agent full (expected 0)")
    for name in ("light", "steady"):
        if f[f"{name}_offered"] != f[f"{name}_arrivals"]:
            problems.append(f"{name}: {f[f'{name}_arrivals'] - f[f'{name}_offered']} arrivals never offered")
    return problems


def print_report(f: Out, problems: list[str]) -> None:
    """The human-readable lines (the JSON line is printed by main, last)."""
    cut = f", cut off after {f['drain_s']} s" if f["drain_cut_off"] else f" in {f['drain_s']} s"
    route = f"{f['route_waiting_s']} s" if f["route_waiting_s"] is not None else f"cut off after {f['route_limit']} s"
    print(
        f"backlog drain ({f['agents']} agents x 3 chats, {f['queues']} queues, {f['contacts']} waiting, "
        f"{f['concurrency']} at a time): {f['drain_offers']} of {f['drain_expected']} offers{cut}: "
        f"{f['decisions_per_s']} decisions/s = {f['decisions_vs_target']} x the target {TARGET_DECISIONS_PER_S}\n"
        f"  per offer {f['drain_redis_commands_per_offer']} Redis commands, CPU {f['drain_bench_cpu_ms_per_offer']} "
        f"ms here + {f['drain_redis_cpu_ms_per_offer']} ms Redis (median of {len(f['drain_runs'])} runs: "
        f"{', '.join(str(r) for r in f['drain_runs'])} decisions/s)\n"
        f"  every agent full: dispatch_agent {f['full_dispatch_agent_ms']} ms each; route_waiting {route}, "
        f"retrying {f['route_waiting_agents']} agents"
    )
    for name in ("light", "steady"):
        print(
            f"{name} arrivals: {f[f'{name}_arrivals']} at {f[f'{name}_rate_per_s']}/s (planned "
            f"{f[f'{name}_planned_rate_per_s']}/s), arrive() -> offered p50/p95/p99/max "
            f"{' / '.join(str(f[f'{name}_offer_{p}_ms']) for p in ('p50', 'p95', 'p99', 'max'))} ms; "
            f"CPU {f[f'{name}_bench_cpu_s']} s here, {f[f'{name}_redis_cpu_s']} s Redis"
        )
    print(
        f"  steady p99 {f['offer_p99_vs_target']} x the target {TARGET_P99_MS:.0f} ms, {f['max_inflight']} in flight\n"
        f"raw EVALSHA: {f['evalsha_per_s']}/s, {f['evalsha_pipelined_per_s']}/s in pipelines of {f['batch']}\n"
        f"decisions/s / EVALSHA/s: {f['ratio']} (pipelined: {f['ratio_pipelined']})\n"
        f"peak RSS: bench {f['bench_peak_rss_mb']} MB, Redis {f['redis_peak_rss_mb']} MB"
    )
    for line in problems[:40]:
        print(f"PROBLEM: {line}")


async def scenarios(args: argparse.Namespace, url: str, pid: int | None) -> Out:
    redis = Redis.from_url(url)  # as contactd opens it (contactd/app.py)
    try:
        b = Bench(redis, pid, args, random.Random(args.seed))
        runs = []
        for _ in range(args.drain_runs):
            runs.append(await drain(b))
            print(f"drain done: {runs[-1]['decisions_per_s']} decisions/s", flush=True)
        # The median run (each drain is short: 3,000 offers at most, so one run alone is noisy).
        parts = sorted(runs, key=lambda r: r["decisions_per_s"] or 0.0)[len(runs) // 2]
        parts["drain_runs"] = [r["decisions_per_s"] for r in runs]
        parts |= await steady(b)
        print(f"steady done: p99 {parts['steady_offer_p99_ms']} ms", flush=True)
        parts["evalsha_per_s"] = round(await evalsha_rate(b, 1), 1)
        parts["evalsha_pipelined_per_s"] = round(await evalsha_rate(b, BATCH), 1)
        return figures_of(b, parts)
    finally:
        await redis.aclose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--queues", type=int, default=50, help="at least 5 (each agent serves 3-5)")
    p.add_argument("--contacts", type=int, default=10_000, help="waiting contacts in the drain")
    p.add_argument("--concurrency", type=int, default=16, help="tasks calling the router (and EVALSHA) at once")
    p.add_argument("--drain-limit", type=float, default=40, help="seconds the drain may take")
    p.add_argument("--drain-runs", type=int, default=5, help="drains run, each on a new tenant (the median counts)")
    p.add_argument("--route-limit", type=float, default=20, help="seconds route_waiting may take")
    p.add_argument("--rate", type=float, default=1000, help="arrivals per second in the steady phase")
    p.add_argument("--seconds", type=float, default=10, help="length of the steady phase")
    p.add_argument("--max-inflight", type=int, default=48, help="most arrive() calls at once")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.queues < 5 or min(args.agents, args.contacts, args.concurrency, args.max_inflight, args.rate) < 1:
        p.error("--queues must be at least 5, the counts and --rate at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: Out = {"bench": "router", "agents": args.agents, "queues": args.queues, "contacts": args.contacts}
    started = now()
    try:
        with on_sigterm(), contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-router-")))
            url, pid = start_redis(tmp, stack)
            print(f"set-up: Redis {f'embedded, pid {pid}' if pid else 'external'}", flush=True)
            figures = run_loop(scenarios(args, url, pid))
        problems = problems_of(figures)
        print_report(figures, problems)
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        print(f"router bench: failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        figures.update(ok=False, error=f"{type(e).__name__}: {e}"[:500])
        print(json.dumps(figures), flush=True)
        return 1
    figures.update(errors=len(problems), problems=[p[:200] for p in problems[:5]], ok=not problems)
    figures["total_s"] = round(now() - started, 1)
    print(json.dumps(figures), flush=True)
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
