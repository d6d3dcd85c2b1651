"""Board benchmark: N supervisors' boards while routing events flow, beside a raw broadcast of the same bytes.

    .venv/bin/python bench/board.py [--boards 500] [--rate 1000] [--seconds 20] [--mode changes|snapshot]

A contactd node (``python -m contactd serve``, its own process) serves ``/ws/board``
to N clients in this process, all signed in as the demo supervisor. A second child
process plays another node's router: ``RouterService`` on the same Redis and tenant,
announcing each change on the ``changed`` channel as ``RoutingListener`` does, at
``--rate`` events a second: citizens arriving (``arrive``) and leaving (``abandon``)
around a backlog of ``--waiting`` contacts in three queues, and advisers going away
and offline. Every ``--sample-every``-th event is a marker: an arrival in the
``welsh`` queue, which nothing else touches, so its ``waiting`` only grows and the
k-th marker is on a board once that board shows ``waiting >= k``. Event -> every
board updated is the time from the marker's ``arrive`` call to the slowest board's
first frame showing it (one monotonic clock for both processes).

Phases on the node: events with no board (the node's CPU for the events alone), one
board (the cost of making the board), then all N for ``--seconds``: CPU, RSS growth
per board, frames and bytes per board. The frames board 0 received in that window are
then replayed, at the times it received them, by a plain ``websockets`` server in its
own process (``broadcast``), to N clients, with ``compression=None`` and again with
permessage-deflate: the denominator. The replays run while the events still flow and
the node, its boards closed, still follows them, so that both sides share the 2 cores
with the same load. ``--mode changes`` sends ``board.watch`` and
expects ``board.changes`` after the first snapshot; a node that does not answer it is
reported and measured in snapshot mode. Human-readable lines first; the last line is
one JSON object.
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
import json
import math
import os
import resource
import secrets
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from bench import harness as h
from bench.board_peers import MARKER, run_events, serve_raw
from bench.chat_flow import PASSWORD, seed
from contactd.embedded import free_port

TARGET_P99_S = 1.0  # the targets: event -> every board p99, and cost against the raw broadcast
TARGET_COST = 2.0
WATCH = json.dumps({"type": "board.watch", "queues": None})
NO_RELAY = "CONTACTD_SMTP_RELAY_URL is not set"  # a start-up warning; this benchmark sends no mail
IDLE_S, ONE_S, SETTLE_S, GRACE_S = 5.0, 5.0, 2.0, 3.0
Out = dict[str, Any]


def rss_kb(pid: int) -> int:
    """Resident memory of a live process now (``VmRSS``), in KB; 0 once it has gone."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def raise_nofile(need: int) -> int:
    """Raise this process's open-file limit (children inherit it) to ``need`` if the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        soft = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


# --- the board clients ---------------------------------------------------------------------------------


@dataclass
class Seen:
    """What the boards received, on this process's clock: markers (contactd) or frame order (raw)."""

    n: int
    window: tuple[float, float] = (math.inf, math.inf)  # frames and bytes are counted inside it
    frames: int = 0
    bytes: int = 0
    got_first: int = 0  # boards that received a frame
    capture: list[tuple[float, str]] = field(default_factory=list)  # board 0's frames
    level: list[int] = field(default_factory=list)  # board -> highest marker seen (contactd), frames seen (raw)
    last_at: dict[int, float] = field(default_factory=dict)  # marker or frame -> when the last board got it
    boards: Counter[int] = field(default_factory=Counter)  # marker or frame -> boards that got it
    kinds: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    cache: dict[str, tuple[int, int | None, str]] = field(default_factory=dict)  # text -> (bytes, marker, type)

    def __post_init__(self) -> None:
        self.level = [-1] * self.n

    def read(self, text: str) -> tuple[int, int | None, str]:
        """(UTF-8 bytes, the marker queue's waiting if the frame has its row, type); parsed once per text, as
        every board gets the same texts."""
        if text not in self.cache:
            f = json.loads(text)
            rows = f.get("queues") or () if isinstance(f, dict) else ()
            marker = next((int(r["waiting"]) for r in rows if r.get("name") == MARKER and "waiting" in r), None)
            kind = str(f.get("type")) if isinstance(f, dict) else "?"
            if kind == "error" and len(self.errors) < 20:
                self.errors.append(f"error frame: {text[:200]}")
            self.cache = self.cache if len(self.cache) < 4096 else {}
            self.cache[text] = (len(text.encode()), marker, kind)
        return self.cache[text]

    def count(self, i: int, text: str, at: float) -> tuple[int, int | None, str]:
        size, _, kind = got = self.read(text)
        self.got_first += self.level[i] < 0
        self.level[i] = max(self.level[i], 0)
        if self.window[0] <= at < self.window[1]:
            self.frames, self.bytes = self.frames + 1, self.bytes + size
        if i == 0:
            self.capture.append((at, text))
        self.kinds[kind] += 1
        return got

    def marked(self, i: int, text: str, at: float) -> None:
        """A contactd frame: each marker it shows for the first time on board ``i``."""
        _, marker, _ = self.count(i, text, at)
        if marker is not None and marker > self.level[i]:
            for k in range(self.level[i] + 1, marker + 1):
                self.last_at[k] = at
                self.boards[k] += 1
            self.level[i] = marker

    def ordered(self, i: int, text: str, at: float) -> None:
        """A raw frame: frame j after the first is the j-th broadcast (one TCP stream, in order)."""
        first = self.level[i] < 0
        self.count(i, text, at)
        if not first:
            j = self.level[i]
            self.last_at[j], self.boards[j], self.level[i] = at, self.boards[j] + 1, j + 1


async def open_board(url: str, cookie: str | None, origin: str | None, deflate: bool) -> ClientConnection:
    return await websockets.connect(
        url,
        additional_headers={"Cookie": cookie} if cookie else None,
        origin=origin,  # type: ignore[arg-type]
        compression="deflate" if deflate else None,
        max_size=2**22,
        open_timeout=60,
        ping_interval=None,  # as a browser: the server pings
    )


async def listen(ws: ClientConnection, i: int, mark: Callable[[int, str, float], None], seen: Seen) -> None:
    """Board ``i``: hand each frame to ``mark`` with when it arrived, until the socket closes."""
    try:
        async for raw in ws:
            mark(i, raw if isinstance(raw, str) else raw.decode(), h.now())
    except websockets.ConnectionClosed as e:
        seen.errors.append(f"board socket closed: {e}")


@dataclass
class Boards:
    """Board sockets of one run and their listeners (owned here: closed and awaited by ``close``)."""

    seen: Seen
    socks: list[ClientConnection] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def add(self, count: int, make: Callable[[], Any], raw: bool) -> None:
        """Open ``count`` more boards, 50 at a time, and wait until each has its first frame."""
        base = len(self.socks)
        new = await h.gather_limited(count, 50, lambda _: make())
        mark = self.seen.ordered if raw else self.seen.marked
        for i, ws in enumerate(new, base):
            self.tasks.append(asyncio.create_task(listen(ws, i, mark, self.seen)))
        self.socks += new
        await until(lambda: self.seen.got_first >= len(self.socks), 60, "every board's first frame")

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.socks), return_exceptions=True)
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def until(done: Callable[[], bool], limit: float, what: str) -> None:
    deadline = h.now() + limit
    while not done():
        if h.now() > deadline:
            raise RuntimeError(f"no {what} within {limit:.0f} s")
        await asyncio.sleep(0.05)


# --- the contactd run ----------------------------------------------------------------------------------


async def sign_in(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/login", json={"username": "supervisor", "password": PASSWORD})
    if r.status_code != 200:
        raise RuntimeError(f"supervisor sign-in failed: {r.status_code} {r.text[:200]}")
    return "; ".join(c.split(";", 1)[0] for c in r.headers.get_list("set-cookie"))


async def probe_watch(make: Callable[[], Any]) -> str | None:
    """None when the node answers ``board.watch`` with ``board.changes`` (events are flowing); else why not."""
    ws = await make()
    try:
        await ws.send(WATCH)
        deadline = h.now() + 5
        while h.now() < deadline:
            f = json.loads(await asyncio.wait_for(ws.recv(), deadline - h.now()))
            if f.get("type") == "board.changes":
                return None
            if f.get("type") == "error":
                return f"the node answered board.watch with an error ({f.get('code')}: {f.get('message')})"
    except TimeoutError:
        pass
    finally:
        await ws.close()
    return "the node sent no board.changes within 5 s of board.watch"


async def phase(meter: h.Meter, seconds: float) -> dict[str, float]:
    meter.begin()
    await asyncio.sleep(seconds)
    meter.end()
    return meter.used


async def board_phases(args: argparse.Namespace, base: str, server_pid: int, meter: h.Meter, out: Out) -> Seen:
    """Probe, no board, one board, then all of them for ``--seconds``; CPU and RSS of each into ``out``."""
    cookie = await sign_in(base)
    url = "ws" + base.removeprefix("http") + "/ws/board"

    async def make() -> ClientConnection:
        ws = await open_board(url, cookie, base, False)
        if out["mode"] == "changes":
            await ws.send(WATCH)
        return ws

    out["mode"], out["fallback"] = args.mode, None
    if args.mode == "changes" and (why := await probe_watch(lambda: open_board(url, cookie, base, False))):
        out["mode"], out["fallback"] = "snapshot", why
    await asyncio.sleep(1)
    out["cpu_idle"] = await phase(meter, IDLE_S)
    out["rss_before_kb"] = rss_kb(server_pid)
    boards = Boards(Seen(args.boards))
    try:
        await boards.add(1, make, False)
        before = len(boards.seen.capture)
        out["cpu_one"] = await phase(meter, ONE_S)
        out["one_frames"] = len(boards.seen.capture) - before  # board 0's frames in that phase
        t = h.now()
        await boards.add(args.boards - 1, make, False)
        out["connect_s"] = round(h.now() - t, 2)
        await asyncio.sleep(SETTLE_S)
        out["rss_connected_kb"], t0 = rss_kb(server_pid), h.now()
        boards.seen.window = (t0, t0 + args.seconds)
        out["cpu"] = await phase(meter, args.seconds)
        out["rss_after_kb"], out["window"] = rss_kb(server_pid), boards.seen.window
        await asyncio.sleep(GRACE_S)  # markers made near the end reach every board
    finally:
        await boards.close()
    return boards.seen


def bench_contactd(
    args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out, then: Callable[[Seen], None]
) -> Seen:
    """A node and its stores, the events child, the boards; then ``then`` (the raw broadcasts), while the events
    still flow and the node is left with no board, so that both run under the same load; the events' markers
    and counts into ``out``."""
    stores = h.start_stores(tmp / "servers", stack)
    tenant = "bench-" + secrets.token_hex(4)
    h.run_loop(seed(stores.db_url, tenant, args.agents))
    server, base = h.start_contactd(tmp, stores, tenant, stack)
    events = start_events(args, tmp, stores, tenant, stack)
    print(f"set-up: {stores.describe()}, tenant {tenant}, contactd pid {server.pid}, events pid {events.pid}")
    readers = dict(server=lambda: h.cpu_s(server.pid), redis=lambda: h.tree_cpu_s(stores.redis_pid))
    readers |= dict(postgres=lambda: h.tree_cpu_s(stores.pg_pid), events=lambda: h.cpu_s(events.pid))
    seen = h.run_loop(board_phases(args, base, server.pid, h.Meter(readers | {"bench": h.client_cpu_s}), out))
    out["server_peak_rss_mb"] = h.peak_rss_mb(server.pid)
    background, t = h.Meter(readers), h.now()
    background.begin()
    then(seen)
    background.end()
    out["background"] = {k: round(v / (h.now() - t) * 100, 1) for k, v in background.used.items()}
    events.stop()
    if not (tmp / "events.json").exists():
        raise RuntimeError(f"the events child left no results (exit {events.proc.returncode}):\n{h.tail(events.log)}")
    out["events"] = json.loads((tmp / "events.json").read_text())
    server.stop()
    logs = [p for p in h.log_problems(server.log) if NO_RELAY not in p]
    out["log_problems"] = logs + [f"events: {e}" for e in out["events"]["errors"]]
    return seen


def start_events(args: argparse.Namespace, tmp: Path, stores: h.Stores, tenant: str, stack: Any) -> h.Child:
    """The events child, once it has queued the backlog and started its events."""
    advisers = h.run_loop(advisers_of(stores.db_url, tenant))
    cfg = dict(redis_url=stores.redis_url, tenant=tenant, rate=args.rate, waiting=args.waiting, seed=args.seed)
    cfg |= dict(sample_every=args.sample_every, agent_share=args.agent_share, advisers=advisers)
    cfg["out"] = str(tmp / "events.json")
    (tmp / "events.cfg").write_text(json.dumps(cfg))
    child = h.Child(
        [sys.executable, __file__, "--events", str(tmp / "events.cfg")], dict(os.environ), tmp, tmp / "ev.log"
    )
    stack.callback(child.stop)
    deadline = h.now() + 60
    while not Path(cfg["out"] + ".ready").exists():
        if child.proc.poll() is not None or h.now() > deadline:
            raise RuntimeError(f"the events child did not start:\n{h.tail(child.log)}")
        time.sleep(0.05)
    return child


async def advisers_of(db_url: str, tenant: str) -> list[list[Any]]:
    """[id, name, queues] of every adviser of ``tenant`` (their routing profile's queues: their skills)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT u.id, u.display_name, array_agg(s.name ORDER BY s.name) AS queues FROM users u"
            " JOIN agent_skills a ON a.user_id = u.id JOIN skills s ON s.id = a.skill_id"
            " WHERE u.tenant_id = $1 AND u.role = 'agent' GROUP BY u.id ORDER BY u.id",
            tenant,
        )
    finally:
        await conn.close()
    return [[str(r["id"]), r["display_name"], list(r["queues"])] for r in rows]


# --- the raw run ---------------------------------------------------------------------------------------


async def raw_phase(n: int, port: int, pid: int, deflate: bool, meter: h.Meter, out: Out) -> Seen:
    out["rss_before_kb"] = rss_kb(pid)
    boards = Boards(Seen(n))
    try:
        await boards.add(n, lambda: open_board(f"ws://127.0.0.1:{port}/board", None, None, deflate), True)
        await asyncio.sleep(SETTLE_S)
        out["rss_connected_kb"] = rss_kb(pid)
        async with websockets.connect(f"ws://127.0.0.1:{port}/control", compression=None) as control:
            t0 = h.now()
            boards.seen.window = (t0, math.inf)
            meter.begin()
            await control.send("go")
            out["sent_at"] = json.loads(await control.recv())
            meter.end()
            out["cpu"], out["replay_s"] = meter.used, h.now() - t0
            out["rss_after_kb"] = rss_kb(pid)
            await asyncio.sleep(GRACE_S)
    finally:
        await boards.close()
    return boards.seen


def bench_raw(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, deflate: bool, out: Out) -> Seen:
    port, name = free_port(), "raw-deflate" if deflate else "raw"
    cmd = [sys.executable, __file__, "--raw-ws", str(port), "--frames", str(tmp / "frames.json")]
    raw = h.Child(cmd + (["--deflate"] if deflate else []), dict(os.environ), tmp, tmp / f"{name}.log")
    stack.callback(raw.stop)
    h.wait_listening(port, raw, 20)
    meter = h.Meter({"server": lambda: h.cpu_s(raw.pid), "bench": h.client_cpu_s})
    seen = h.run_loop(raw_phase(args.boards, port, raw.pid, deflate, meter, out))
    out["peak_rss_mb"] = h.peak_rss_mb(raw.pid)
    raw.stop()
    out["log_problems"] = h.log_problems(raw.log)
    return seen


# --- the report ----------------------------------------------------------------------------------------


def capture(seen: Seen, path: Path) -> int:
    """Board 0's first frame and the frames it got in the window, with their offsets: the raw server's script."""
    t0, t1 = seen.window
    stream = [(at - t0, text) for at, text in seen.capture if t0 <= at < t1]
    path.write_text(json.dumps({"first": seen.capture[0][1], "stream": stream}))
    return len(stream)


def deflated(texts: list[str]) -> int:
    """Bytes of ``texts`` as one permessage-deflate stream would carry them (RFC 7692: context kept between
    messages, each flushed and its 4-byte tail dropped), with websockets' settings: 12-bit window, memLevel 5."""
    z = zlib.compressobj(wbits=-12, memLevel=5)
    return sum(len(z.compress(t.encode()) + z.flush(zlib.Z_SYNC_FLUSH)) - 4 for t in texts)


def latencies(seen: Seen, made: list[tuple[int, float]]) -> tuple[list[float], int]:
    """Seconds from each mark made (key, when) to the last board's first sight of it; and how many no board
    or not every board saw."""
    got = [seen.last_at[k] - at for k, at in made if seen.boards[k] >= seen.n]
    return got, len(made) - len(got)


def contactd_figures(args: argparse.Namespace, seen: Seen, c: Out) -> Out:
    """The node's figures: event -> every board, CPU (total, and above the events alone), memory, bytes."""
    (t0, t1), s, n = c["window"], args.seconds, args.boards
    made = [(k, at) for k, at in c["events"]["markers"] if t0 <= at < t1]
    got, missing = latencies(seen, made)
    done = sum(v for slot, v in c["events"]["done"].items() if t0 * 10 <= int(slot) < t1 * 10)
    idle = c["cpu_idle"]["server"] / IDLE_S
    board_cpu = c["cpu"]["server"] - idle * s
    f: Out = dict(mode=c["mode"], fallback=c["fallback"], events_per_s=round(done / s, 1), markers=len(made))
    f |= dict(markers_missing=missing, latency_p50_ms=h.pct(got, 50), latency_p99_ms=h.pct(got, 99))
    f |= dict(
        latency_max_ms=h.pct(got, 100), recipients=seen.frames, frames_per_board_per_s=round(seen.frames / n / s, 2)
    )
    f |= dict(bytes_per_board_per_s=round(seen.bytes / n / s), frame_bytes=round(seen.bytes / max(1, seen.frames)))
    f["deflated_bytes_per_board_per_s"] = round(deflated([t for at, t in seen.capture if t0 <= at < t1]) / s)
    f |= {f"{k}_cpu_pct": round(v / s * 100, 1) for k, v in c["cpu"].items()}
    f |= {f"{k}_idle_cpu_pct": round(v / IDLE_S * 100, 1) for k, v in c["cpu_idle"].items()}
    f |= dict(raw_background_cpu_pct=c["background"], frame_types=dict(seen.kinds))
    f["connect_s"] = c["connect_s"]
    f["server_us_per_recipient"] = round(c["cpu"]["server"] / max(1, seen.frames) * 1e6, 1)
    f["board_us_per_recipient"] = round(board_cpu / max(1, seen.frames) * 1e6, 1)
    f["one_board_ms_per_frame"] = round((c["cpu_one"]["server"] - idle * ONE_S) / max(1, c["one_frames"]) * 1e3, 2)
    f |= dict(server_rss_before_mb=round(c["rss_before_kb"] / 1024, 1), server_peak_rss_mb=c["server_peak_rss_mb"])
    f["rss_kb_per_board_connected"] = round((c["rss_connected_kb"] - c["rss_before_kb"]) / n, 1)
    f["rss_kb_per_board"] = round((c["rss_after_kb"] - c["rss_before_kb"]) / n, 1)
    return f


def raw_figures(name: str, seen: Seen, r: Out) -> Out:
    got, missing = latencies(seen, list(enumerate(r["sent_at"])))
    s, n = r["replay_s"], seen.n
    f: Out = {"frames": len(r["sent_at"]), "frames_missing": missing, "recipients": seen.frames}
    f |= dict(
        latency_p50_ms=h.pct(got, 50), latency_p99_ms=h.pct(got, 99), cpu_pct=round(r["cpu"]["server"] / s * 100, 1)
    )
    f |= dict(us_per_recipient=round(r["cpu"]["server"] / max(1, seen.frames) * 1e6, 1))
    f |= dict(bench_cpu_pct=round(r["cpu"]["bench"] / s * 100, 1), peak_rss_mb=r["peak_rss_mb"])
    f["rss_kb_per_conn_connected"] = round((r["rss_connected_kb"] - r["rss_before_kb"]) / n, 1)
    f["rss_kb_per_conn"] = round((r["rss_after_kb"] - r["rss_before_kb"]) / n, 1)
    return {f"{name}_{k}": v for k, v in f.items()}


def verdicts(f: Out) -> Out:
    """Ours against the raw broadcast without compression (contactd's setting), and the issue's targets."""
    raw_us, raw_kb = f["raw_us_per_recipient"], f["raw_rss_kb_per_conn"]
    v: Out = {"cost_ratio": round(f["board_us_per_recipient"] / raw_us, 2) if raw_us else None}
    v["cost_ratio_total"] = round(f["server_us_per_recipient"] / raw_us, 2) if raw_us else None
    v["rss_ratio"] = round(f["rss_kb_per_board"] / raw_kb, 2) if raw_kb > 0 else None
    v["p99_target_met"] = f["latency_p99_ms"] is not None and f["latency_p99_ms"] < TARGET_P99_S * 1000
    v["cost_target_met"] = v["cost_ratio"] is not None and v["cost_ratio"] <= TARGET_COST
    return v


def problems_of(args: argparse.Namespace, f: Out, seen: list[Seen], logs: list[str]) -> list[str]:
    """What went wrong in the run (missing a target is not a problem of the run)."""
    problems = [e for s in seen for e in s.errors] + logs
    if f["markers_missing"]:
        problems.append(f"{f['markers_missing']} of {f['markers']} markers did not reach every board")
    for name in ("raw", "raw_deflate"):
        if f[f"{name}_frames_missing"]:
            problems.append(f"{name}: {f[f'{name}_frames_missing']} frames did not reach every board")
    if f["events_per_s"] < 0.95 * args.rate:
        problems.append(f"the events ran at {f['events_per_s']}/s, under 95 % of --rate {args.rate:g}")
    return problems


def print_report(f: Out, problems: list[str]) -> None:
    """The human-readable lines (the JSON line is printed last, by report_end)."""
    if f["fallback"]:
        print(f"NOTE: --mode changes asked for, measured in snapshot mode: {f['fallback']}")
    print(
        f"contactd, {f['boards']} boards ({f['mode']} mode), {f['events_per_s']} routing events/s, "
        f"{f['waiting']} waiting, {f['agents']} advisers, {f['seconds']:g} s:\n"
        f"  event -> every board updated ({f['markers']} markers): p50 {f['latency_p50_ms']} ms, "
        f"p99 {f['latency_p99_ms']} ms, max {f['latency_max_ms']} ms\n"
        f"  {f['frames_per_board_per_s']} frames and {f['bytes_per_board_per_s']} bytes a board a second "
        f"({f['frame_bytes']} bytes a frame; {f['deflated_bytes_per_board_per_s']} deflated)\n"
        f"  CPU: contactd {f['server_cpu_pct']} % of a core ({f['server_idle_cpu_pct']} % for the events with no "
        f"board); {f['server_us_per_recipient']} us a frame-recipient, {f['board_us_per_recipient']} us above the "
        f"events alone; one board: {f['one_board_ms_per_frame']} ms a frame\n"
        f"  Redis {f['redis_cpu_pct']} % ({f['redis_idle_cpu_pct']} % with no board), PostgreSQL "
        f"{f['postgres_cpu_pct']} %, events {f['events_cpu_pct']} %, bench {f['bench_cpu_pct']} %\n"
        f"  RSS {f['server_rss_before_mb']} MB before the boards, +{f['rss_kb_per_board_connected']} KB a board "
        f"connected, +{f['rss_kb_per_board']} KB a board after the run; {f['boards']} connected in {f['connect_s']} s"
    )
    for name, what in (("raw", "compression=None"), ("raw_deflate", "permessage-deflate")):
        print(
            f"raw websockets broadcast ({what}), {f[f'{name}_frames']} frames replayed: "
            f"{f[f'{name}_us_per_recipient']} us a frame-recipient ({f[f'{name}_cpu_pct']} % of a core), "
            f"+{f[f'{name}_rss_kb_per_conn_connected']} KB a connection, +{f[f'{name}_rss_kb_per_conn']} KB after; "
            f"send -> every board p50 {f[f'{name}_latency_p50_ms']} ms, p99 {f[f'{name}_latency_p99_ms']} ms"
        )
    bg = f["raw_background_cpu_pct"]
    cost = "met" if f["cost_target_met"] else "NOT met" if f["cost_ratio"] else "unknown (raw CPU under a clock tick)"
    print(f"  meanwhile (events, no board): contactd {bg['server']} %, Redis {bg['redis']} %, events {bg['events']} %")
    print(
        f"ours / raw: CPU a frame-recipient {f['cost_ratio']} (total {f['cost_ratio_total']}), memory a board "
        f"{f['rss_ratio']}\ntargets: p99 < {TARGET_P99_S:g} s: {'met' if f['p99_target_met'] else 'NOT met'}; "
        f"cost <= {TARGET_COST:g}x raw: {cost}"
    )
    for line in problems[:40]:
        print(f"PROBLEM: {line}")


def run(args: argparse.Namespace, figures: Out) -> list[str]:
    """Both runs, the raw one while the events still flow; figures into ``figures``."""
    c: Out = {}
    runs: dict[str, Out] = {"raw": {}, "raw_deflate": {}}
    raw_seen: list[Seen] = []

    def raw(seen: Seen) -> None:
        print(f"contactd done; {capture(seen, tmp / 'frames.json')} frames to replay", flush=True)
        raw_seen.extend(bench_raw(args, tmp, stack, name == "raw_deflate", r) for name, r in runs.items())

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-board-")))
        seen = bench_contactd(args, tmp, stack, c, raw)
    figures |= contactd_figures(args, seen, c)
    for (name, r), s in zip(runs.items(), raw_seen, strict=True):
        figures |= raw_figures(name, s, r)
    figures |= verdicts(figures)
    logs = c["log_problems"] + [f"{name}: {p}" for name, r in runs.items() for p in r["log_problems"]]
    return problems_of(args, figures, [seen, *raw_seen], logs)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--boards", type=int, default=500)
    p.add_argument("--rate", type=float, default=1000, help="routing events a second")
    p.add_argument("--seconds", type=float, default=20, help="length of the measured window (and of the replay)")
    p.add_argument("--mode", choices=("changes", "snapshot"), default="changes")
    p.add_argument("--waiting", type=int, default=1000, help="contacts kept waiting in the three bulk queues")
    p.add_argument("--agents", type=int, default=100, help="advisers on the board")
    p.add_argument("--agent-share", type=float, default=0.1, help="share of the events that are advisers' statuses")
    p.add_argument("--sample-every", type=int, default=50, help="every n-th event is a marker")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--events", help=argparse.SUPPRESS)  # the child: make events as this JSON file says
    p.add_argument("--raw-ws", type=int, help=argparse.SUPPRESS)  # the child: the raw server on this port
    p.add_argument("--frames", help=argparse.SUPPRESS)
    p.add_argument("--deflate", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if min(args.boards, args.rate, args.seconds, args.waiting, args.agents, args.sample_every) < 1:
        p.error("--boards, --rate, --seconds, --waiting, --agents and --sample-every must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.events:
        h.run_loop(run_events(json.loads(Path(args.events).read_text())))
        return 0
    if args.raw_ws:
        h.run_loop(serve_raw(args.raw_ws, Path(args.frames), args.deflate))
        return 0
    keys = ("boards", "rate", "seconds", "waiting", "agents", "agent_share", "sample_every")
    figures: Out = {"bench": "board", "date": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count()}
    figures |= {k: getattr(args, k) for k in keys} | {"mode_asked": args.mode}
    figures["nofile"], figures["commit"] = raise_nofile(2 * args.boards + 512), h.commit()
    return h.conclude("board", figures, lambda: run(args, figures), print_report)


if __name__ == "__main__":
    sys.exit(main())
