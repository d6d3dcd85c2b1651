"""Chat flow benchmark: N citizens, M agents, real Redis, PostgreSQL and a real contactd process.

    .venv/bin/python bench/chat_flow.py [--citizens 200] [--agents 50] [--messages 5]

M agents sign in and go available; N citizens start chats on queue ``general``
at once. Agents accept every offer at once, exchange ``--messages`` messages
each way with the citizen (citizen first, each side answering the other),
end the chat, wrap up and take the next offer, until every citizen is served
(the clients: ``bench/chat_bots.py``).

Then the same client code drives ``bench/raw_relay.py``, a plain
``websockets.asyncio.server`` in its own process that speaks the same frames
from memory (no Redis, no PostgreSQL, no sign-in): its message rate is the
denominator of contactd's.

Redis and PostgreSQL are embedded (``contactd.embedded``) in a temporary
directory unless ``CONTACTD_BENCH_REDIS_URL`` / ``CONTACTD_BENCH_DATABASE_URL``
are set. Human-readable lines first; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ first on sys.path, where bench/<name>.py would shadow a project
    # package of that name (bench/router.py and `router`). Put the project root there, so `bench` is a package.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import contextlib
import json
import os
import secrets
import tempfile
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import raw_relay
from bench.chat_bots import QUEUE, Tally, Target, run_flow
from bench.harness import (
    Child,
    Meter,
    client_cpu_s,
    cpu_s,
    log_problems,
    now,
    on_sigterm,
    pct,
    peak_rss_mb,
    run_loop,
    stall_probe,
    start_contactd,
    start_stores,
    tree_cpu_s,
    wait_listening,
)
from contactd import demo
from contactd.embedded import free_port
from contactd.migrate import migrate

PASSWORD = "Bench-pass-" + secrets.token_urlsafe(9)
CAPACITY = 3  # contactd's default chat capacity per agent (CONTACTD_CHAT_CAPACITY)
RAW_REPEATS = 3
Out = dict[str, Any]


# --- PostgreSQL before and after ------------------------------------------------------------------------


async def seed(db_url: str, tenant: str, agents: int) -> None:
    """The demo department in ``tenant``, plus agent4..agentM with the general skill at level 3."""
    conn = await asyncpg.connect(db_url)
    try:
        await migrate(conn)
        await demo.seed(conn, tenant, PASSWORD)  # hashes PASSWORD once; the extra agents reuse that hash
        password_hash = await conn.fetchval(
            "SELECT password_hash FROM users WHERE tenant_id = $1 AND username = 'agent1'", tenant
        )
        skill = await conn.fetchval("SELECT id FROM skills WHERE tenant_id = $1 AND name = $2", tenant, QUEUE)
        async with conn.transaction():
            for i in range(len([u for u in demo.USERS if u[2] == "agent"]) + 1, agents + 1):
                user_id = await conn.fetchval(
                    "INSERT INTO users (tenant_id, username, display_name, role, password_hash)"
                    " VALUES ($1, $2, $3, 'agent', $4) ON CONFLICT (tenant_id, username)"
                    " DO UPDATE SET password_hash = $4, active = true RETURNING id",
                    tenant,
                    f"agent{i}",
                    f"Bench Agent {i}",
                    password_hash,
                )
                await conn.execute(
                    "INSERT INTO agent_skills (user_id, skill_id, level) VALUES ($1, $2, 3) ON CONFLICT DO NOTHING",
                    user_id,
                    skill,
                )
    finally:
        await conn.close()


async def db_check(db_url: str, tenant: str) -> dict[str, Any]:
    """What PostgreSQL holds after the run: conversations by state, messages stored."""
    conn = await asyncpg.connect(db_url)
    try:
        states = {
            r["state"]: r["n"]
            for r in await conn.fetch(
                "SELECT state, count(*) AS n FROM conversations WHERE tenant_id = $1 GROUP BY state", tenant
            )
        }
        stored = await conn.fetchval(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE c.tenant_id = $1",
            tenant,
        )
        return {"states": states, "messages": stored}
    finally:
        await conn.close()


# --- the two runs -----------------------------------------------------------------------------------------


def bench_contactd(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    """The flow against contactd; CPU, peak RSS, PostgreSQL's contents and log problems go into ``out``."""
    t = now()
    stores = start_stores(tmp / "servers", stack)
    tenant = "bench-" + secrets.token_hex(4)
    run_loop(seed(stores.db_url, tenant, args.agents))
    server, base = start_contactd(tmp, stores, tenant, stack)
    print(
        f"set-up: {stores.describe()}, tenant {tenant}, contactd pid {server.pid} on {base} ({now() - t:.1f}s)",
        flush=True,
    )
    meter = Meter(
        {
            "server": lambda: cpu_s(server.pid),
            "redis": lambda: tree_cpu_s(stores.redis_pid),
            "postgres": lambda: tree_cpu_s(stores.pg_pid),
            "client": client_cpu_s,
        }
    )
    target = Target("contactd", base, PASSWORD)
    tally = run_loop(
        run_flow(target, args, before_start=meter.begin, on_stall=lambda: stall_probe(base, stores.db_url))
    )
    meter.end()
    out["server_peak_rss_mb"] = peak_rss_mb(server.pid)
    out["db"] = run_loop(db_check(stores.db_url, tenant))
    server.stop()
    out["cpu"] = meter.used
    out["log_problems"] = log_problems(server.log)
    return tally


def bench_raw(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    """The same flow against the raw relay, RAW_REPEATS times (it is short, so noisy): the median run counts."""
    port = free_port()
    command = [sys.executable, raw_relay.__file__, str(port), "--capacity", str(CAPACITY), "--queue", QUEUE]
    raw = Child(command, dict(os.environ), tmp, tmp / "raw.log")
    stack.callback(raw.stop)
    wait_listening(port, raw, 20)
    runs: list[tuple[float, Tally, dict[str, float]]] = []
    for _ in range(RAW_REPEATS):
        meter = Meter({"server": lambda: cpu_s(raw.pid), "client": client_cpu_s})
        target = Target("raw", f"http://127.0.0.1:{port}", None)
        tally = run_loop(run_flow(target, args, before_start=meter.begin))
        meter.end()
        runs.append((tally.delivered / tally.run_s if tally.run_s > 0 else 0.0, tally, meter.used))
    out["server_peak_rss_mb"] = peak_rss_mb(raw.pid)
    raw.stop()
    out["rates"] = [round(rate, 1) for rate, _, _ in runs]
    _, tally, out["cpu"] = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    for _, other, _ in runs:
        if other is not tally:
            tally.errors += other.errors + [f"raw (another run): {d}" for d in other.diagnose()]
    return tally


# --- the report -------------------------------------------------------------------------------------------


def flow_figures(t: Tally, prefix: str = "") -> Out:
    """Run time, messages relayed and their rate, relay and offer latency percentiles of one flow."""
    offers = t.offer_latencies()
    return {
        f"{prefix}run_s": round(t.run_s, 3),
        f"{prefix}relay_msgs": t.delivered,
        f"{prefix}relay_msgs_per_s": round(t.delivered / t.run_s, 1) if t.run_s > 0 else None,
        f"{prefix}c2a_p50_ms": pct(t.c2a, 50),
        f"{prefix}c2a_p99_ms": pct(t.c2a, 99),
        f"{prefix}a2c_p50_ms": pct(t.a2c, 50),
        f"{prefix}a2c_p99_ms": pct(t.a2c, 99),
        f"{prefix}offer_p50_ms": pct(offers, 50),
        f"{prefix}offer_p99_ms": pct(offers, 99),
    }


def contactd_figures(c: Tally, c_out: Out) -> Out:
    """contactd's figures: who was served, offers at once and after a wait, relay, CPU and memory."""
    imm, waited = c.offer_latencies(True), c.offer_latencies(False)
    return {
        "served": len(c.closed),
        "queued_after_joined": c.queued_after_joined,
        "offered_immediately": len(imm),
        "offered_after_wait": len(waited),
        "offer_immediate_p50_ms": pct(imm, 50),
        "offer_immediate_p99_ms": pct(imm, 99),
        "offer_waited_p50_ms": pct(waited, 50),
        "offer_waited_p99_ms": pct(waited, 99),
        **flow_figures(c),
        "server_cpu_s": c_out["cpu"].get("server"),
        "server_peak_rss_mb": c_out.get("server_peak_rss_mb"),
        "redis_cpu_s": c_out["cpu"].get("redis"),
        "postgres_cpu_s": c_out["cpu"].get("postgres"),
        "client_cpu_s": c_out["cpu"].get("client"),
    }


def raw_figures(r: Tally, r_out: Out) -> Out:
    """The raw relay's figures (its median run), prefixed ``raw_ws_``."""
    return {
        "raw_ws_served": len(r.closed),
        **flow_figures(r, "raw_ws_"),
        "raw_ws_server_cpu_s": r_out["cpu"].get("server"),
        "raw_ws_server_peak_rss_mb": r_out.get("server_peak_rss_mb"),
        "raw_ws_client_cpu_s": r_out["cpu"].get("client"),
        "raw_ws_runs_msgs_per_s": r_out.get("rates"),
    }


def problems_of(args: argparse.Namespace, c: Tally, c_out: Out, r: Tally) -> list[str]:
    """Everything that went wrong, in contactd's run, the raw runs, and PostgreSQL's contents."""
    problems = c.errors + [f"contactd: {d}" for d in c.diagnose()] + [f"contactd stuck: {s}" for s in c.stall]
    problems += r.errors + [f"raw: {d}" for d in r.diagnose()]
    db, want = c_out.get("db", {}), 2 * args.citizens * args.messages
    if db and (db["states"].get("closed", 0) != args.citizens or db["messages"] != want):
        problems.append(
            f"PostgreSQL after the run: conversations by state {db['states']}, "
            f"{db['messages']} messages stored (expected {args.citizens} closed, {want} messages)"
        )
    return problems


def report(args: argparse.Namespace, c: Tally, c_out: Out, r: Tally, r_out: Out, total_s: float) -> Out:
    """The JSON figures, every problem, the server log's problems and PostgreSQL's contents."""
    figures: Out = {
        "bench": "chat_flow",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "citizens": args.citizens,
        "agents": args.agents,
        "messages": args.messages,
        "capacity": CAPACITY,
        **contactd_figures(c, c_out),
        **raw_figures(r, r_out),
    }
    rate, raw_rate = figures["relay_msgs_per_s"], figures["raw_ws_relay_msgs_per_s"]
    figures["ratio"] = round(rate / raw_rate, 3) if rate and raw_rate else None
    problems = problems_of(args, c, c_out, r)
    figures["server_log_problems"] = sum(int(p.split(" x ", 1)[0]) for p in c_out.get("log_problems", []))
    figures["errors"] = len(problems)
    figures["problems"] = [p[:200] for p in problems[:5]]
    figures["ok"] = not problems
    figures["total_s"] = round(total_s, 1)
    return {
        "figures": figures,
        "problems": problems,
        "log_problems": c_out.get("log_problems", []),
        "db": c_out.get("db", {}),
    }


def _ms(f: Out, key: str) -> str:
    return f"p50 {f[key + '_p50_ms']} ms, p99 {f[key + '_p99_ms']} ms"


def print_contactd(f: Out, db: Out) -> None:
    print(
        f"contactd chat flow: {f['citizens']} citizens, {f['agents']} agents x {f['capacity']} chats, "
        f"{f['messages']} messages each way; {f['served']} served"
    )
    print(f"  offer (chat.start -> agent has the offer), all {_ms(f, 'offer')}")
    print(f"    offered at once ({f['offered_immediately']}): {_ms(f, 'offer_immediate')}")
    print(f"    waited for a free agent ({f['offered_after_wait']}): {_ms(f, 'offer_waited')}")
    print(f"  relay citizen -> agent {_ms(f, 'c2a')}; agent -> citizen {_ms(f, 'a2c')}")
    print(f"  {f['relay_msgs']} messages relayed in {f['run_s']} s: {f['relay_msgs_per_s']} msgs/s")
    print(
        f"  CPU s during the run: contactd {f['server_cpu_s']}, Redis {f['redis_cpu_s']}, "
        f"PostgreSQL {f['postgres_cpu_s']}, bench client {f['client_cpu_s']}; "
        f"contactd peak RSS {f['server_peak_rss_mb']} MB"
    )
    print(f"  PostgreSQL after the run: {db}")


def print_raw(f: Out) -> None:
    print(
        f"raw websockets relay (same frames, in memory, one process), median of "
        f"{f['raw_ws_runs_msgs_per_s']} msgs/s: {f['raw_ws_served']} served"
    )
    print(f"  relay citizen -> agent {_ms(f, 'raw_ws_c2a')}; agent -> citizen {_ms(f, 'raw_ws_a2c')}")
    print(
        f"  {f['raw_ws_relay_msgs']} messages relayed in {f['raw_ws_run_s']} s: "
        f"{f['raw_ws_relay_msgs_per_s']} msgs/s (server CPU {f['raw_ws_server_cpu_s']} s, "
        f"client CPU {f['raw_ws_client_cpu_s']} s)"
    )


def print_report(rep: Out) -> None:
    """The human-readable lines (the JSON line is printed by main, last)."""
    f = rep["figures"]
    print_contactd(f, rep["db"])
    print_raw(f)
    print(f"contactd / raw websockets: {f['ratio']}")
    if f["queued_after_joined"]:
        print(f"NOTE: {f['queued_after_joined']} citizens got chat.agent_joined before their first chat.queued")
    for line in rep["problems"][:40]:
        print(f"PROBLEM: {line}")
    for line in rep["log_problems"][:20]:
        print(f"SERVER LOG: {line}")


# --- the command ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--citizens", type=int, default=200)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--messages", type=int, default=5, help="messages each way per chat (at least 1)")
    p.add_argument("--timeout", type=float, default=75, help="seconds a flow may take in all")
    p.add_argument("--stall", type=float, default=15, help="seconds without any frame that count as stuck")
    args = p.parse_args(argv)
    if args.citizens < 1 or args.agents < 1 or args.messages < 1:
        p.error("--citizens, --agents and --messages must be at least 1")
    return args


def run(args: argparse.Namespace) -> Out:
    """Both runs, contactd's stack stopped before the raw one; the report."""
    started = now()
    with on_sigterm(), contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-")))
        c_out: Out = {}
        r_out: Out = {}
        c = bench_contactd(args, tmp, stack, c_out)
        stack.close()  # contactd, Redis and PostgreSQL stop before the raw run
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-raw-")))
        r = bench_raw(args, tmp, stack, r_out)
    return report(args, c, c_out, r, r_out, now() - started)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: Out = {"bench": "chat_flow", "citizens": args.citizens, "agents": args.agents, "messages": args.messages}
    try:
        rep = run(args)
        print_report(rep)
        figures = rep["figures"]
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        print(f"chat_flow: failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        figures.update(ok=False, error=f"{type(e).__name__}: {e}"[:500])
        print(json.dumps(figures), flush=True)
        return 1
    print(json.dumps(figures), flush=True)
    return 0 if figures.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
