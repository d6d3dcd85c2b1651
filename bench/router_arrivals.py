"""The router benchmark's second scenario: arrivals paced at a steady rate, served by robot agents."""

from __future__ import annotations

import asyncio
import random

from bench.harness import (
    now,
    pct,
)
from bench.router_parts import (
    DESK_INFLIGHT,
    HANDLE_S,
    LIGHT,
    SETTLE_S,
    Bench,
    Out,
    Recorder,
    conversation,
    forget,
    set_team,
)
from router.service import RouterService


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
