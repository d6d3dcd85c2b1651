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
import os
import random
import tempfile
from datetime import UTC, datetime

from redis.asyncio import Redis

from bench.harness import (
    now,
    on_sigterm,
    peak_rss_mb,
    report_end,
    report_failure,
    run_loop,
    start_redis,
)
from bench.router_arrivals import steady
from bench.router_parts import BATCH, HANDLE_S, RAW_S, TARGET_DECISIONS_PER_S, TARGET_P99_MS, Bench, Out, drain


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
        return report_failure("router", figures, e)
    return report_end(figures, problems, started)


if __name__ == "__main__":
    sys.exit(main())
