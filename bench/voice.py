"""Benchmark of bridged calls: how many concurrent phone calls one contactd process carries on time, with Opus
and with PCMU on the adviser's leg, beside a bare aiortc loopback stream measured in the same run.

A real ``python -m contactd serve`` node (embedded Redis and PostgreSQL) holds the calls. Client processes of
our own (``bench/voice_clients.py``) play Twilio (signed webhooks, then a media stream of 20 ms μ-law frames
in real time) and the advisers (signed in on ``/ws/agent``, available, accepting each call and negotiating
WebRTC with an aiortc peer that offers one codec only). Calls are added ``--step`` at a time; at each step
the node's CPU (``/proc``) is read over a ``--window`` and both ends note when each frame arrived: the node
must send each caller a frame every 20 ms and each adviser an RTP packet every 20 ms. Every sender clicks
once a second; the time a click takes to cross the bridge, less the bare loopback's median (the WebRTC hop
the bridge holds anyway), is the latency the bridge adds. Human-readable lines first; the last line is one
JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: put the project root first on sys.path instead of bench/ (bench/router.py would
    # shadow the project's `router`).
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import contextlib
import os
import secrets
import tempfile
from datetime import UTC, datetime
from typing import Any

from bench import harness as h
from bench.board import NO_RELAY
from bench.chat_flow import PASSWORD, seed
from bench.voice_clients import Client, serve
from bench.voice_report import bare_figures, print_report, problems_of, step_figures, verdicts
from contactd.embedded import free_port

SCRIPT = Path(__file__).resolve()
CONNECT_LIMIT_S = 30.0  # calls of one step not all bridged by then: the step fails
IDLE_LIMIT_S = 30.0  # advisers not all wrapped up by then, after the calls of a ramp hang up: a problem
Out = dict[str, Any]


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (``/proc/stat``: all but idle and iowait)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / h.CLK_TCK


def loop_cpu_s(pid: int) -> float:
    """CPU seconds of a process's main thread (its event loop; ``/proc/<pid>/task/<pid>/stat``): the process
    also runs aiortc's threads (a decoder for each call, the encoders' pool), so its loop can be saturated
    while the process as a whole uses less than a core."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / h.CLK_TCK


def start_node(tmp: Path, stores: h.Stores, tenant: str, stack: contextlib.ExitStack) -> tuple[h.Child, str, str]:
    """A contactd node that takes our signed Twilio webhooks and offers 127.0.0.1 as its ICE host candidate;
    (process, base URL, Twilio auth token)."""
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    env = h.contactd_env(tmp, stores, tenant, port)
    env |= dict(CONTACTD_PUBLIC_URL=base, CONTACTD_TWILIO_AUTH_TOKEN=token, CONTACTD_ICE_HOST_ADDRESSES="127.0.0.1")
    server = h.Child([sys.executable, "-m", "contactd", "serve"], env, tmp, tmp / "contactd.log")
    stack.callback(server.stop)
    h.wait_ready(base, server, 60)
    return server, base, token


async def window(clients: list[Client], meter: h.Meter, args: argparse.Namespace) -> tuple[Out, float]:
    """Meter a ``--window``, then what every client noted in it: (stats merged over the clients, seconds)."""
    meter.begin()
    t0 = h.now()
    await asyncio.sleep(args.window)
    t1 = h.now()
    meter.end()
    replies = await asyncio.gather(*(c.ask("stats", t0=t0, t1=t1, late_s=args.late_ms / 1000) for c in clients))
    merged: Out = dict(callers={}, advisers={}, loopbacks=[], errors=[])
    for r in replies:
        merged["callers"] |= r["callers"]
        merged["advisers"] |= r["advisers"]
        merged["loopbacks"] += r["loopbacks"]
        merged["errors"] += r["errors"]
    return merged, t1 - t0


async def bare(client: Client, node: h.Child, codec: str, args: argparse.Namespace) -> Out:
    """``--bare-streams`` loopback streams of ``codec`` in the bare process, alone on the machine but for the
    node with no call: their CPU and latency, and the node's CPU meanwhile."""
    await client.ask("loopback", codec=codec, n=args.bare_streams)
    await asyncio.sleep(args.settle)
    meter = h.Meter({"bare": lambda: h.cpu_s(client.pid), "server": lambda: h.cpu_s(node.pid)})
    stats, seconds = await window([client], meter, args)
    await client.ask("loopback", codec=codec, n=0)
    return bare_figures(stats, meter.used, seconds, args)


async def until(clients: list[Client], done: Any, limit: float) -> Out:
    """Poll the clients' status until ``done(merged)`` or ``limit`` seconds; the last merged status."""
    deadline = h.now() + limit
    while True:
        replies = await asyncio.gather(*(c.ask("status") for c in clients))
        merged = dict(hearing={x for r in replies for x in r["hearing"]}, busy=sum(r["busy"] for r in replies))
        merged["errors"] = [e for r in replies for e in r["errors"]]
        if done(merged) or h.now() > deadline:
            return merged
        await asyncio.sleep(0.2)


async def ramp(clients: list[Client], codec: str, bare_out: Out, meter: h.Meter, args: argparse.Namespace) -> Out:
    """Add calls ``--step`` at a time until a step misses (or ``--max-calls``); every step's figures."""
    await asyncio.gather(*(c.ask("codec", codec=codec) for c in clients))
    cids: list[str] = []
    steps: list[Out] = []
    problems: list[str] = []
    while len(cids) < args.max_calls:
        n = min(args.step, args.max_calls - len(cids))
        share = [n // len(clients) + (i < n % len(clients)) for i in range(len(clients))]
        dialled = await asyncio.gather(*(c.ask("dial", n=k) for c, k in zip(clients, share, strict=True) if k))
        cids += [cid for r in dialled for cid in r["cids"]]
        wanted = set(cids)
        status = await until(clients, lambda s, w=wanted: w <= s["hearing"], CONNECT_LIMIT_S)
        await asyncio.sleep(args.settle)
        for attempt in (1, 2):  # a step that misses is measured once more: one window can catch a hiccup
            stats, seconds = await window(clients, meter, args)
            step = step_figures(cids, stats, meter.used, seconds, bare_out, args) | {"attempt": attempt}
            step["bridged"] = len(wanted & status["hearing"])
            if step["bridged"] < len(cids):
                step.update(ok=False, limited_by="calls not bridged")
            print_step(codec, step)
            problems += stats["errors"]
            if step["ok"] or step["bridged"] < len(cids):
                break
        steps.append(step)
        if not step["ok"]:
            break
    await asyncio.gather(*(c.ask("hang_up") for c in clients))
    status = await until(clients, lambda s: s["busy"] == 0, IDLE_LIMIT_S)
    if status["busy"]:
        problems.append(f"{codec}: {status['busy']} advisers still on a call {IDLE_LIMIT_S:g} s after the hang-ups")
    return {"steps": steps, "problems": sorted(set(problems))}


def print_step(codec: str, s: Out) -> None:
    again = " (again)" if s["attempt"] > 1 else ""
    print(
        f"  {codec} {s['calls']:3d} calls{again}: node {s['node_cores']} cores ({s['cpu_per_call_pct']} % a call; "
        f"its event loop {s['loop_cores']}); to callers {s['caller_on_time_pct']} % on time, to advisers "
        f"{s['adviser_on_time_pct']} % "
        f"({s['adviser_packets_per_s_min']} packets/s for the slowest call); added latency p95 "
        f"in {s['added_in_p95_ms']} / out {s['added_out_p95_ms']} ms; clients {s['clients_cores']}, machine "
        f"{s['machine_cores']} cores: {'ok' if s['ok'] else 'MISSED (' + s['limited_by'] + ')'}",
        flush=True,
    )


async def bench(args: argparse.Namespace, tmp: Path, node: h.Child, stores: h.Stores, base: str, token: str) -> Out:
    """Sign the advisers in, then for each codec the bare loopback and the ramp."""
    clients = [await Client.start(f"client{i}", SCRIPT, tmp) for i in range(args.clients)]
    loopback = await Client.start("bare", SCRIPT, tmp)
    try:
        names = [f"agent{i + 1}" for i in range(args.max_calls)]
        await asyncio.gather(
            *(
                c.ask("setup", base=base, token=token, password=PASSWORD, agents=names[i :: len(clients)], index=i)
                for i, c in enumerate(clients)
            )
        )
        readers = dict(server=lambda: h.cpu_s(node.pid), loop=lambda: loop_cpu_s(node.pid), machine=machine_busy_s)
        readers |= dict(redis=lambda: h.tree_cpu_s(stores.redis_pid), postgres=lambda: h.tree_cpu_s(stores.pg_pid))
        readers["clients"] = lambda: sum(h.cpu_s(c.pid) for c in clients)
        out: Out = {}
        for codec in args.codecs:
            bare_out = await bare(loopback, node, codec, args)
            print(
                f"{codec}: bare aiortc loopback, {args.bare_streams} streams: {bare_out['cpu_per_stream_pct']} % of a "
                f"core a stream, click latency p50 {bare_out['latency_p50_ms']} / p95 {bare_out['latency_p95_ms']} ms",
                flush=True,
            )
            out[codec] = {"bare": bare_out} | await ramp(clients, codec, bare_out, h.Meter(dict(readers)), args)
        return out
    finally:
        await asyncio.gather(*(c.stop() for c in [*clients, loopback]))


def cores(args: argparse.Namespace, figures: Out) -> tuple[set[int], set[int]] | None:
    """With ``--pin`` and at least two CPUs: (the node's one core, everyone else's), noted in ``figures``."""
    cpus = sorted(os.sched_getaffinity(0))
    if not args.pin or len(cpus) < 2:
        figures |= dict(node_cpus=None, others_cpus=None)
        return None
    figures |= dict(node_cpus=cpus[-1:], others_cpus=cpus[:-1])
    return set(cpus[-1:]), set(cpus[:-1])


def pin(pid: int, cpus: set[int]) -> None:
    """Every thread of ``pid`` on ``cpus`` (threads it makes later inherit it)."""
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task), cpus)


def run(args: argparse.Namespace, figures: Out) -> list[str]:
    pinned = cores(args, figures)
    if pinned is not None:
        os.sched_setaffinity(0, pinned[1])  # this process, and the stores and clients it starts
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-voice-")))
        stores = h.start_stores(tmp / "servers", stack)
        tenant = "bench-" + secrets.token_hex(4)
        h.run_loop(seed(stores.db_url, tenant, args.max_calls))
        node, base, token = start_node(tmp, stores, tenant, stack)
        if pinned is not None:
            pin(node.pid, pinned[0])
        where = "" if pinned is None else f", alone on CPU {figures['node_cpus'][0]}"
        print(f"set-up: {stores.describe()}, tenant {tenant}, contactd pid {node.pid} on {base}{where}", flush=True)
        out = h.run_loop(bench(args, tmp, node, stores, base, token))
        figures["server_peak_rss_mb"] = h.peak_rss_mb(node.pid)
        node.stop()
        logs = [p for p in h.log_problems(node.log) if NO_RELAY not in p]
    figures |= verdicts(out, args)
    return problems_of(out, logs)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--codecs", default="opus,PCMU", help="the advisers' codecs, one ramp each")
    p.add_argument("--step", type=int, default=4, help="calls added at each step")
    p.add_argument("--max-calls", type=int, default=40, help="the ramp stops here (and seeds this many advisers)")
    p.add_argument("--window", type=float, default=5.0, help="seconds measured at each step")
    p.add_argument("--settle", type=float, default=1.5, help="seconds between the last call bridged and the window")
    p.add_argument("--late-ms", type=float, default=40.0, help="a frame later than this behind schedule is late")
    p.add_argument("--on-time", type=float, default=99.0, help="%% of frames on time for a step to count")
    p.add_argument("--clients", type=int, default=2, help="client processes holding the calls")
    p.add_argument("--bare-streams", type=int, default=8, help="bare aiortc loopback streams")
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="give the node one CPU of its own and everything else the others (with at least two CPUs)",
    )
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)  # a client process (voice_clients)
    args = p.parse_args(argv)
    args.codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    if min(args.step, args.max_calls, args.clients, args.bare_streams) < 1 or args.window <= 1:
        p.error("--step, --max-calls, --clients and --bare-streams must be at least 1, --window over 1 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        h.run_loop(serve())
        return 0
    figures: Out = {"bench": "voice", "date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count()}
    figures |= {k: getattr(args, k) for k in ("codecs", "step", "max_calls", "window", "late_ms", "on_time")}
    figures |= dict(commit=h.commit(), load_avg_1m_before=round(os.getloadavg()[0], 2))
    return h.conclude("voice", figures, lambda: run(args, figures), print_report)


if __name__ == "__main__":
    sys.exit(main())
