"""Routing receipts benchmark: audit events written through ``EventLog`` (COPY in batches) against raw COPY and INSERT.

    .venv/bin/python bench/receipts.py [--rows 100000] [--insert-rows 10000] [--batch 500] [--producers 16]

Writes ``--rows`` receipt-sized ``routing.offered`` events (about 400 bytes of
JSON each: rule, queue, priority, chosen, 10 ranked agents, 3 skipped with
reasons) three ways, each into a new tenant of the ``events`` table:

1. one INSERT per statement through the pool, one at a time, as ``Store``
   appends an event (``--insert-rows``, fewer: it is slow);
2. raw ``copy_records_to_table`` in batches of ``--batch``, one batch after
   another, without our class: once with every row built beforehand (the
   ceiling of COPY itself), once building each batch's rows (``json.dumps``)
   just before sending it, as any writer must;
3. ``EventLog.put`` from ``--producers`` tasks that yield to the loop after
   each receipt, as routing decisions do, then one ``flush()``; the clock stops
   when every row is committed.

Each round runs the four once; ``--rounds`` (3) rounds, the median reported.
PostgreSQL is embedded (``contactd.embedded``) in a temporary directory unless
``CONTACTD_BENCH_DATABASE_URL`` is set (its ``events`` rows stay: the table is
append-only). Human-readable lines first; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: Python put bench/ first on sys.path, where bench/<name>.py would shadow a project
    # package of that name (bench/router.py and `router`). Put the project root there, so `bench` is a package.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import statistics
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.harness import (
    Meter,
    client_cpu_s,
    now,
    on_sigterm,
    report_end,
    report_failure,
    run_loop,
    start_postgres,
    tree_cpu_s,
)
from contactd.eventlog import COLUMNS, TABLE, EventLog, Row
from contactd.migrate import migrate

TYPE = "routing.offered"
QUEUES = ("general", "council-tax", "housing-repairs", "blue-badge", "welsh")
RULES = ("longest-idle", "fewest-active", "most-skilled", "round-robin")
REASONS = (
    "declined or missed this contact",
    "at capacity on chat (3 of 3)",
    "lacks the skill council-tax at level 3 (has level 2)",
    "on a voice call, not offered chats meanwhile",
    "status away (lunch) since 12:31",
)
Out = dict[str, Any]
Receipt = tuple[uuid.UUID, int, dict[str, Any]]  # conversation, chosen agent, receipt


def receipts(n: int, seed: int) -> list[Receipt]:
    """``n`` routing receipts shaped as ``router.service.receipt`` makes them, 5 per conversation."""
    rng = random.Random(seed)
    out = []
    cid = uuid.uuid4()
    for i in range(n):
        if i % 5 == 0:
            cid = uuid.UUID(int=rng.getrandbits(128), version=4)
        agents = [str(a) for a in rng.sample(range(10_000, 100_000), 13)]
        data = {
            "rule": rng.choice(RULES),
            "queue": rng.choice(QUEUES),
            "priority": rng.randint(0, 2),
            "chosen": agents[0],
            "ranked": agents[:10],
            "skipped": [{"agent_id": a, "reason": rng.choice(REASONS)} for a in agents[10:]],
        }
        out.append((cid, int(agents[0]), data))
    return out


class CountingEventLog(EventLog):
    """The real EventLog, counting the COPY statements it sends."""

    copies = 0

    async def _copy(self, rows: list[Row]) -> None:
        self.copies += 1
        await super()._copy(rows)


# --- the three ways ---------------------------------------------------------------------------------------


async def by_insert(pool: asyncpg.Pool, tenant: str, work: list[Receipt], base: datetime, meter: Meter) -> Out:
    """One INSERT per statement through the pool, one at a time, as ``Store`` appends an event."""
    meter.begin()
    started = now()
    for i, (cid, agent, data) in enumerate(work):
        await pool.execute(
            "INSERT INTO events (tenant_id, at, type, conversation_id, agent_id, data) VALUES ($1, $2, $3, $4, $5, $6)",
            tenant,
            base + timedelta(microseconds=i),
            TYPE,
            cid,
            agent,
            json.dumps(data),
        )
    elapsed = now() - started
    meter.end()
    return {"s": elapsed}


async def by_raw_copy(
    pool: asyncpg.Pool,
    tenant: str,
    work: list[Receipt],
    base: datetime,
    meter: Meter,
    batch: int,
    encode_in_clock: bool,
) -> Out:
    """``copy_records_to_table``, ``batch`` rows at a time, one batch after another.

    The rows (their ``json.dumps``) are built before the clock starts, or, with
    ``encode_in_clock``, each batch's just before it is sent, as a writer must.
    """

    def build(i: int) -> list[Row]:
        return [
            (tenant, base + timedelta(microseconds=j), TYPE, cid, agent, json.dumps(data))
            for j, (cid, agent, data) in enumerate(work[i : i + batch], start=i)
        ]

    starts = range(0, len(work), batch)
    prebuilt = {} if encode_in_clock else {i: build(i) for i in starts}
    meter.begin()
    started = now()
    for i in starts:
        await pool.copy_records_to_table(TABLE, records=prebuilt.get(i) or build(i), columns=COLUMNS)
    elapsed = now() - started
    meter.end()
    return {"s": elapsed, "copies": len(starts)}


async def by_eventlog(
    pool: asyncpg.Pool, tenant: str, work: list[Receipt], base: datetime, meter: Meter, batch: int, producers: int
) -> Out:
    """``EventLog.put`` from ``producers`` tasks, each yielding after each receipt; then ``flush()``."""
    log = CountingEventLog(pool, tenant, batch_size=batch)
    log.start()
    seq = itertools.count()  # decision times strictly increase in the order of the put() calls

    async def producer(k: int) -> None:
        for cid, agent, data in work[k::producers]:
            await log.put(TYPE, cid, agent, data, base + timedelta(microseconds=next(seq)))
            await asyncio.sleep(0)  # a decision awaits Redis before its receipt: others run meanwhile

    meter.begin()
    started = now()
    try:
        await asyncio.gather(*(producer(k) for k in range(producers)))
        await log.flush()
        elapsed = now() - started
        meter.end()
    finally:
        await log.close()
    return {"s": elapsed, "copies": log.copies, "refused": log.refused, "left": log.pending}


async def check(pool: asyncpg.Pool, tenant: str) -> tuple[int, int]:
    """(rows written for ``tenant``, rows whose decision time is not after the previous row's, in id order)."""
    row = await pool.fetchrow(
        "SELECT count(*) AS n, count(*) FILTER (WHERE at <= prev) AS disorder"
        " FROM (SELECT at, lag(at) OVER (ORDER BY id) AS prev FROM events WHERE tenant_id = $1) s",
        tenant,
    )
    return row["n"], row["disorder"]


async def measured(
    name: str, pool: asyncpg.Pool, meter: Meter, rows: int, run: Callable[[str], Awaitable[Out]]
) -> tuple[Out, list[str]]:
    """Run one way in a new tenant (it meters its timed part); its rows/s, CPU per row and the problems found in
    PostgreSQL afterwards."""
    tenant = f"bench-receipts-{secrets.token_hex(4)}"
    out = await run(tenant)
    n, disorder = await check(pool, tenant)
    out |= {
        "rows_per_s": round(rows / out["s"]),
        "cpu_us_per_row": {k: round(v / rows * 1e6, 1) for k, v in meter.used.items()},
    }
    problems = [f"{name}: {n} rows written, {rows} expected"] if n != rows else []
    problems += [f"{name}: {disorder} rows out of decision order"] if disorder else []
    problems += [f"{name}: {out['refused']} rows refused"] if out.get("refused") else []
    problems += [f"{name}: {out['left']} rows left unwritten"] if out.get("left") else []
    return out, problems


# --- the rounds and the report ----------------------------------------------------------------------------


async def rounds(args: argparse.Namespace, url: str, pg_pid: int | None) -> tuple[Out, list[str]]:
    pool = await asyncpg.create_pool(url, min_size=2, max_size=20, command_timeout=30)  # as contactd/app.py
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        work = receipts(args.rows, args.seed)
        meter = Meter({"bench": client_cpu_s, "postgres": lambda: tree_cpu_s(pg_pid)})
        base = datetime.now(UTC)
        problems: list[str] = []
        ways: dict[str, tuple[int, Callable[[str], Awaitable[Out]]]] = {
            "insert": (args.insert_rows, lambda t: by_insert(pool, t, work[: args.insert_rows], base, meter)),
            "raw_copy": (args.rows, lambda t: by_raw_copy(pool, t, work, base, meter, args.batch, False)),
            "raw_copy_json": (args.rows, lambda t: by_raw_copy(pool, t, work, base, meter, args.batch, True)),
            "eventlog": (args.rows, lambda t: by_eventlog(pool, t, work, base, meter, args.batch, args.producers)),
        }
        runs: dict[str, list[Out]] = {name: [] for name in ways}
        for r in range(args.rounds):
            for name, (rows, run) in ways.items():
                out, found = await measured(name, pool, meter, rows, run)
                runs[name].append(out)
                problems += found
            print(
                f"round {r + 1}: INSERT {runs['insert'][-1]['rows_per_s']:,} rows/s; raw COPY "
                f"{runs['raw_copy'][-1]['rows_per_s']:,} rows/s (building rows too: "
                f"{runs['raw_copy_json'][-1]['rows_per_s']:,}); EventLog {runs['eventlog'][-1]['rows_per_s']:,} "
                f"rows/s in {runs['eventlog'][-1]['copies']} COPYs",
                flush=True,
            )
        return figures_of(args, work, runs), problems
    finally:
        await pool.close()


def figures_of(args: argparse.Namespace, work: list[Receipt], runs: dict[str, list[Out]]) -> Out:
    """The medians, each round's rates, CPU per row (median round), and the two ratios."""
    f: Out = {
        "receipt_bytes": round(statistics.mean(len(json.dumps(d, separators=(",", ":"))) for _, _, d in work)),
    }
    for name, outs in runs.items():
        rates = [o["rows_per_s"] for o in outs]
        middle = sorted(outs, key=lambda o: o["rows_per_s"])[len(outs) // 2]
        f[f"{name}_rows_per_s"] = middle["rows_per_s"]
        f[f"{name}_runs_rows_per_s"] = rates
        f[f"{name}_bench_cpu_us_per_row"] = middle["cpu_us_per_row"]["bench"]
        f[f"{name}_postgres_cpu_us_per_row"] = middle["cpu_us_per_row"]["postgres"]
        if "copies" in middle:
            f[f"{name}_copies"] = middle["copies"]
    f["eventlog_rows_per_copy"] = round(args.rows / f["eventlog_copies"], 1)
    f["ratio_eventlog_vs_raw_copy"] = round(f["eventlog_rows_per_s"] / f["raw_copy_rows_per_s"], 3)
    f["ratio_eventlog_vs_raw_copy_json"] = round(f["eventlog_rows_per_s"] / f["raw_copy_json_rows_per_s"], 3)
    f["ratio_eventlog_vs_insert"] = round(f["eventlog_rows_per_s"] / f["insert_rows_per_s"], 1)
    f["ratio_raw_copy_vs_insert"] = round(f["raw_copy_rows_per_s"] / f["insert_rows_per_s"], 1)
    return f


def print_report(f: Out, args: argparse.Namespace, problems: list[str]) -> None:
    """The human-readable lines (the JSON line is printed by main, last)."""
    cpu = "CPU per row: {} µs here, {} µs PostgreSQL"
    print(
        f"receipts of {f['receipt_bytes']} bytes of JSON; medians of {args.rounds} rounds\n"
        f"one INSERT per statement ({args.insert_rows:,} rows, one at a time): {f['insert_rows_per_s']:,} rows/s "
        f"{f['insert_runs_rows_per_s']}; "
        + cpu.format(f["insert_bench_cpu_us_per_row"], f["insert_postgres_cpu_us_per_row"])
        + f"\nraw copy_records_to_table, batches of {args.batch} ({args.rows:,} rows), rows built beforehand: "
        f"{f['raw_copy_rows_per_s']:,} rows/s {f['raw_copy_runs_rows_per_s']}; "
        + cpu.format(f["raw_copy_bench_cpu_us_per_row"], f["raw_copy_postgres_cpu_us_per_row"])
        + "\n  the same, each batch's rows built (json.dumps) before it is sent: "
        f"{f['raw_copy_json_rows_per_s']:,} rows/s {f['raw_copy_json_runs_rows_per_s']}; "
        + cpu.format(f["raw_copy_json_bench_cpu_us_per_row"], f["raw_copy_json_postgres_cpu_us_per_row"])
        + f"\nEventLog.put from {args.producers} tasks, then flush ({args.rows:,} rows): "
        f"{f['eventlog_rows_per_s']:,} rows/s {f['eventlog_runs_rows_per_s']} in {f['eventlog_copies']} COPYs "
        f"({f['eventlog_rows_per_copy']} rows each); "
        + cpu.format(f["eventlog_bench_cpu_us_per_row"], f["eventlog_postgres_cpu_us_per_row"])
        + f"\nEventLog / raw COPY: {f['ratio_eventlog_vs_raw_copy']} (/ raw COPY building rows: "
        f"{f['ratio_eventlog_vs_raw_copy_json']}); EventLog / INSERT: "
        f"{f['ratio_eventlog_vs_insert']}; raw COPY / INSERT: {f['ratio_raw_copy_vs_insert']}"
    )
    for line in problems[:40]:
        print(f"PROBLEM: {line}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--rows", type=int, default=100_000, help="receipts written by raw COPY and by EventLog")
    p.add_argument("--insert-rows", type=int, default=10_000, help="receipts written one INSERT at a time")
    p.add_argument("--batch", type=int, default=500, help="rows per COPY (EventLog's batch_size)")
    p.add_argument("--producers", type=int, default=16, help="tasks calling EventLog.put at once")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if min(args.rows, args.insert_rows, args.batch, args.producers, args.rounds) < 1:
        p.error("every count must be at least 1")
    args.insert_rows = min(args.insert_rows, args.rows)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures: Out = {"bench": "receipts", "rows": args.rows, "insert_rows": args.insert_rows, "batch": args.batch}
    started = now()
    try:
        with on_sigterm(), contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-receipts-")))
            url, pid = start_postgres(tmp, stack)
            print(f"set-up: PostgreSQL {f'embedded, pid {pid}' if pid else 'external'}", flush=True)
            found, problems = run_loop(rounds(args, url, pid))
        figures |= {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "cores": os.cpu_count(),
            "producers": args.producers,
            "rounds": args.rounds,
            **found,
        }
        print_report(figures, args, problems)
    except (Exception, KeyboardInterrupt, SystemExit) as e:
        return report_failure("receipts", figures, e)
    return report_end(figures, problems, started)


if __name__ == "__main__":
    sys.exit(main())
