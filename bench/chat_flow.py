"""Chat flow benchmark: N citizens, M agents, real Redis, PostgreSQL and a real contactd process.

    .venv/bin/python bench/chat_flow.py [--citizens 200] [--agents 50] [--messages 5]

M agents sign in and go available; N citizens start chats on queue ``general``
at once. Agents accept every offer at once, exchange ``--messages`` messages
each way with the citizen (citizen first, each side answering the other),
end the chat, wrap up and take the next offer, until every citizen is served.

Then the same client code drives a plain ``websockets.asyncio.server`` in its
own process that speaks the same frames from memory (no Redis, no PostgreSQL,
no sign-in): its message rate is the denominator of contactd's.

Redis and PostgreSQL are embedded (``contactd.embedded``) in a temporary
directory unless ``CONTACTD_BENCH_REDIS_URL`` / ``CONTACTD_BENCH_DATABASE_URL``
are set. Human-readable lines first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection

from contactd import demo
from contactd.embedded import EmbeddedServers, free_port
from contactd.migrate import migrate

PASSWORD = "Bench-pass-" + secrets.token_urlsafe(9)
QUEUE = "general"
CAPACITY = 3  # contactd's default chat capacity per agent (CONTACTD_CHAT_CAPACITY)
RAW_REPEATS = 3
TEXT = "Hello, I have a question about my account, message {n}"
PR_SET_PDEATHSIG = 1
Frame = dict[str, Any]
T = TypeVar("T")


def now() -> float:
    return time.perf_counter()


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile ``p`` of ``values`` (seconds) in milliseconds, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 2)


# --- what one run records ----------------------------------------------------------------------------


@dataclass
class Tally:
    """Everything one flow observed, on the client's clock."""

    citizens: int
    messages: int
    sent_at: dict[str, float] = field(default_factory=dict)  # message client id -> when sent
    start_at: dict[str, float] = field(default_factory=dict)  # conversation id -> when chat.start was sent
    citizen_of: dict[str, int] = field(default_factory=dict)  # conversation id -> citizen index
    offer_at: dict[str, tuple[float, bool]] = field(default_factory=dict)  # conv -> (when, immediate)
    c2a: list[float] = field(default_factory=list)
    a2c: list[float] = field(default_factory=list)
    unexpected: int = 0  # message ids received that were never sent (or twice)
    duplicate_offers: int = 0
    echoes: Counter[str] = field(default_factory=Counter)
    stage: dict[int, str] = field(default_factory=dict)  # citizen index -> how far they got
    closed: set[str] = field(default_factory=set)  # conversations the agent saw conversation.closed for
    errors: list[str] = field(default_factory=list)
    stall: list[str] = field(default_factory=list)  # what the server looked like when the run got stuck
    frames: int = 0  # every frame any client received: progress
    assigned: set[str] = field(default_factory=set)  # conversations an agent got conversation.assigned for
    queued_after_joined: int = 0  # citizens whose first chat.queued came after chat.agent_joined
    citizens_done: int = 0
    t0: float = 0.0
    t_end: float = 0.0
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def arrived(self, msg_id: str, at: float, into: list[float]) -> None:
        sent = self.sent_at.pop(msg_id, None)
        if sent is None:
            self.unexpected += 1
        else:
            into.append(at - sent)

    def offered(self, conversation_id: str, at: float, immediate: bool) -> None:
        if conversation_id in self.offer_at:
            self.duplicate_offers += 1
        else:
            self.offer_at[conversation_id] = (at, immediate)

    def check_finished(self) -> None:
        if not self.finished.is_set() and self.citizens_done == self.citizens and len(self.closed) == self.citizens:
            self.t_end = now()
            self.finished.set()

    def error(self, text: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(text)

    def offer_latencies(self, immediate: bool | None = None) -> list[float]:
        return [
            at - self.start_at[c]
            for c, (at, imm) in self.offer_at.items()
            if c in self.start_at and (immediate is None or imm == immediate)
        ]

    @property
    def delivered(self) -> int:
        return len(self.c2a) + len(self.a2c)

    @property
    def run_s(self) -> float:
        return (self.t_end or now()) - self.t0

    def talking(self) -> set[str]:
        """Conversations whose citizen got chat.agent_joined (stage talking or later)."""
        return {c for c, i in self.citizen_of.items() if self.stage.get(i) in ("talking", "ended")}

    def diagnose(self) -> list[str]:
        """Where the run stalled: citizens' stages, conversations never offered, messages never delivered."""
        out = []
        stages = Counter(self.stage.values())
        if stages.get("ended", 0) != self.citizens:
            out.append("citizens by stage: " + ", ".join(f"{s}={n}" for s, n in sorted(stages.items())))
        never = [c for c in self.start_at if c not in self.offer_at]
        if never:
            out.append(f"{len(never)} conversations queued but never offered, e.g. {never[:3]}")
        untold = [c for c in self.assigned if c not in self.talking()]
        if untold:
            out.append(
                f"{len(untold)} conversations assigned to an agent whose citizen never got chat.agent_joined,"
                f" e.g. {untold[:3]}"
            )
        unclosed = [c for c in self.offer_at if c not in self.closed]
        if unclosed:
            out.append(f"{len(unclosed)} offered conversations never closed, e.g. {unclosed[:3]}")
        if self.sent_at:
            out.append(f"{len(self.sent_at)} messages sent but never delivered, e.g. {sorted(self.sent_at)[:5]}")
        if self.unexpected:
            out.append(f"{self.unexpected} messages delivered that were not expected (duplicates?)")
        if self.duplicate_offers:
            out.append(f"{self.duplicate_offers} conversations offered more than once")
        for side in ("citizen", "agent"):
            want = self.citizens * self.messages
            if self.echoes[side] != want:
                out.append(f"{side} echoes: {self.echoes[side]} of {want}")
        return out


# --- the client code (the same for contactd and for the raw server) ------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the clients connect; ``login`` says whether agents sign in first (contactd) or not (raw)."""

    name: str
    base: str
    login: bool

    def ws(self, path: str) -> str:
        return "ws" + self.base.removeprefix("http") + path


async def connect(url: str, headers: dict[str, str] | None = None, origin: str | None = None) -> ClientConnection:
    return await websockets.connect(
        url,
        additional_headers=headers,
        origin=origin,  # type: ignore[arg-type]
        compression=None,
        open_timeout=20,
        max_size=2**22,
    )


async def expect(ws: ClientConnection, pred: Callable[[Frame], bool], timeout: float = 20) -> Frame:
    deadline = now() + timeout
    while True:
        frame: Frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - now())))
        if pred(frame):
            return frame


async def agent_ready(target: Target, username: str, http: httpx.AsyncClient) -> ClientConnection:
    """An agent console socket, signed in (contactd) and available."""
    headers = {}
    if target.login:
        r = await http.post("/api/login", json={"username": username, "password": PASSWORD})
        if r.status_code != 200:
            raise RuntimeError(f"login of {username} failed: {r.status_code} {r.text[:200]}")
        headers["Cookie"] = "; ".join(h.split(";", 1)[0] for h in r.headers.get_list("set-cookie"))
    ws = await connect(target.ws("/ws/agent"), headers, origin=target.base)
    await expect(ws, lambda f: f.get("type") == "agent.state")
    await ws.send(json.dumps({"type": "agent.status", "status": "available"}))
    await expect(ws, lambda f: f.get("type") == "agent.state" and f.get("status") == "available")
    return ws


class AgentBot:
    """One agent console: accept every offer, answer every citizen message, end after the last, wrap up."""

    def __init__(self, ws: ClientConnection, tally: Tally) -> None:
        self.ws, self.tally = ws, tally
        self.released = False  # True once this agent has freed a slot: later offers went to contacts that waited

    async def run(self) -> None:
        try:
            async for raw in self.ws:
                await self.on_frame(str(raw), now())
        except websockets.ConnectionClosed as e:
            self.tally.error(f"agent socket closed by the server: {e}")
        else:
            if not self.tally.finished.is_set():
                self.tally.error(f"agent socket closed by the server: {self.ws.close_code} {self.ws.close_reason}")

    async def send(self, frame: Frame) -> None:
        await self.ws.send(json.dumps(frame))

    async def on_frame(self, raw: str, at: float) -> None:
        f = json.loads(raw)
        self.tally.frames += 1
        kind, cid = f.get("type"), f.get("conversation_id", "")
        if kind == "offer":
            self.tally.offered(cid, at, immediate=not self.released)
            await self.send({"type": "offer.accept", "conversation_id": cid})
        elif kind == "message" and f.get("from") == "citizen":
            await self.answer(f, cid, at)
        elif kind == "message":
            self.tally.echoes["agent"] += 1
        elif kind == "conversation.ended":
            self.released = True
            await self.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
        elif kind == "conversation.assigned":
            self.tally.assigned.add(cid)
        elif kind == "conversation.closed":
            self.tally.closed.add(cid)
            self.tally.check_finished()
        elif kind in ("error", "offer.withdrawn"):
            self.tally.error(f"agent got {raw[:300]}")

    async def answer(self, f: Frame, cid: str, at: float) -> None:
        self.tally.arrived(f["id"], at, self.tally.c2a)
        citizen, n = f["id"][1:].split("-")
        reply = f"a{citizen}-{n}"
        self.tally.sent_at[reply] = now()
        await self.send({"type": "message", "conversation_id": cid, "id": reply, "text": TEXT.format(n=n)})
        if int(n) == self.tally.messages - 1:
            await self.send({"type": "conversation.end", "conversation_id": cid})


class CitizenBot:
    """One citizen: start a chat, wait for an agent, send message n after the agent's answer to n-1."""

    def __init__(self, i: int, ws: ClientConnection, tally: Tally) -> None:
        self.i, self.ws, self.tally = i, ws, tally
        self.started = 0.0
        self.conversation_id = ""
        tally.stage[i] = "connected"

    async def run(self) -> None:
        tally, i = self.tally, self.i
        tally.stage[i] = "starting"
        self.started = now()
        await self.ws.send(json.dumps({"type": "chat.start", "queue": QUEUE, "name": f"Citizen {i}", "language": "en"}))
        try:
            async for raw in self.ws:
                await self.on_frame(str(raw), now())
                if tally.stage[i] == "ended":
                    break
        except websockets.ConnectionClosed as e:
            tally.error(f"citizen {i} socket closed by the server while {tally.stage[i]}: {e}")
        finally:
            tally.citizens_done += 1
            tally.check_finished()
        await self.ws.close()

    async def say(self, n: int) -> None:
        msg_id = f"c{self.i}-{n}"
        self.tally.sent_at[msg_id] = now()
        await self.ws.send(json.dumps({"type": "message", "id": msg_id, "text": TEXT.format(n=n)}))

    async def on_frame(self, raw: str, at: float) -> None:
        tally, i = self.tally, self.i
        f = json.loads(raw)
        tally.frames += 1
        kind = f.get("type")
        if kind == "chat.queued" and not self.conversation_id:
            self.conversation_id = f["conversation_id"]
            tally.start_at[self.conversation_id] = self.started
            tally.citizen_of[self.conversation_id] = i
            if tally.stage[i] == "starting":
                tally.stage[i] = "queued"
            else:
                tally.queued_after_joined += 1
        elif kind == "chat.agent_joined":
            tally.stage[i] = "talking"
            await self.say(0)
        elif kind == "message" and f.get("from") == "agent":
            tally.arrived(f["id"], at, tally.a2c)
            n = int(f["id"].split("-")[1]) + 1
            if n < tally.messages:
                await self.say(n)
        elif kind == "message":
            tally.echoes["citizen"] += 1
        elif kind == "chat.ended":
            tally.stage[i] = "ended"
        elif kind == "error":
            tally.error(f"citizen {i} got {raw[:300]}")


async def gather_limited(n: int, limit: int, make: Callable[[int], Any]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


Probe = Callable[[], Awaitable[list[str]]]


async def no_probe() -> list[str]:
    return []


async def run_flow(
    target: Target,
    args: argparse.Namespace,
    before_start: Callable[[], None] = lambda: None,
    on_stall: Probe = no_probe,
) -> Tally:
    """Agents ready, then every citizen starts at once; returns what was observed."""
    tally = Tally(args.citizens, args.messages)
    tasks: list[asyncio.Task[None]] = []
    socks: list[ClientConnection] = []
    try:
        async with httpx.AsyncClient(base_url=target.base, timeout=60) as http:
            agent_socks = await gather_limited(args.agents, 4, lambda i: agent_ready(target, f"agent{i + 1}", http))
        socks += agent_socks
        citizen_socks = await gather_limited(
            args.citizens, 50, lambda i: connect(target.ws("/ws/chat"), origin=target.base)
        )
        socks += citizen_socks
        tasks += [asyncio.create_task(AgentBot(ws, tally).run()) for ws in agent_socks]
        citizens = [CitizenBot(i, ws, tally) for i, ws in enumerate(citizen_socks)]
        before_start()
        tally.t0 = now()
        tasks += [asyncio.create_task(c.run()) for c in citizens]
        await watch(tally, target.name, args, on_stall)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in socks), return_exceptions=True)
    return tally


async def watch(tally: Tally, name: str, args: argparse.Namespace, on_stall: Probe) -> None:
    """Wait until every citizen is served, or until no frame has arrived for --stall seconds (or --timeout)."""
    seen, since = -1, now()
    while not tally.finished.is_set():
        if tally.frames != seen:
            seen, since = tally.frames, now()
        quiet, elapsed = now() - since, now() - tally.t0
        if quiet > args.stall or elapsed > args.timeout:
            tally.t_end = now()
            why = f"no frame for {quiet:.0f}s" if quiet > args.stall else f"{elapsed:.0f}s passed"
            tally.error(f"{name}: stuck ({why}): {len(tally.closed)} of {tally.citizens} chats closed")
            tally.stall = await on_stall()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.finished.wait(), 0.5)


# --- the raw websockets server (the denominator) --------------------------------------------------------


@dataclass(eq=False)
class RawAgent:
    ws: ServerConnection
    id: int
    status: str = "offline"
    load: int = 0
    idle_since: float = 0.0


@dataclass(eq=False)
class RawConv:
    id: str
    citizen: ServerConnection
    agent: RawAgent | None = None
    state: str = "queued"


class RawCentre:
    """The frames contactd sends for this flow, kept in memory: no Redis, no PostgreSQL, no sign-in."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.waiting: deque[RawConv] = deque()
        self.convs: dict[str, RawConv] = {}
        self.agents: list[RawAgent] = []
        self.joined = 0

    async def handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request else ""
        if path.startswith("/ws/agent"):
            await self.agent(ws)
        elif path.startswith("/ws/chat"):
            await self.citizen(ws)

    @staticmethod
    async def send(ws: ServerConnection, frame: Frame) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(json.dumps(frame, separators=(",", ":")))

    def state(self, a: RawAgent) -> Frame:
        return {
            "type": "agent.state",
            "status": a.status,
            "load": {"voice": 0, "chat": a.load, "sms": 0, "email": 0},
            "capacity": {"voice": 1, "chat": self.capacity, "sms": 5, "email": 5},
        }

    async def dispatch(self) -> None:
        offers = []
        while self.waiting:
            free = [a for a in self.agents if a.status == "available" and a.load < self.capacity]
            if not free:
                break
            a = min(free, key=lambda x: (x.idle_since, x.id))
            c = self.waiting.popleft()
            c.agent, c.state = a, "offered"
            a.load += 1
            offers.append((a, c))
        for a, c in offers:
            await self.send(
                a.ws,
                {
                    "type": "offer",
                    "conversation_id": c.id,
                    "channel": "chat",
                    "queue": QUEUE,
                    "expires_in_s": 30,
                    "citizen": {"name": "Citizen", "language": "en"},
                },
            )
            await self.send(a.ws, self.state(a))

    async def agent(self, ws: ServerConnection) -> None:
        self.joined += 1
        a = RawAgent(ws, self.joined)
        self.agents.append(a)
        try:
            await self.agent_frames(a)
        finally:
            self.agents.remove(a)

    async def agent_frames(self, a: RawAgent) -> None:
        ws = a.ws
        await self.send(ws, self.state(a))
        async for raw in ws:
            f = json.loads(raw)
            kind, c = f.get("type"), self.convs.get(f.get("conversation_id", ""))
            if kind == "agent.status":
                a.status, a.idle_since = f["status"], time.time()
                await self.send(ws, self.state(a))
                await self.dispatch()
            elif c is None or c.agent is not a:
                await self.send(
                    ws, {"type": "error", "code": "forbidden", "message": "That conversation is not yours."}
                )
            else:
                await self.agent_frame(a, c, kind, f)

    async def agent_frame(self, a: RawAgent, c: RawConv, kind: str, f: Frame) -> None:
        if kind == "offer.accept":
            c.state = "assigned"
            await self.send(
                a.ws,
                {
                    "type": "conversation.assigned",
                    "conversation_id": c.id,
                    "channel": "chat",
                    "queue": QUEUE,
                    "citizen": {"name": "Citizen", "language": "en"},
                    "transcript": [],
                },
            )
            await self.send(a.ws, self.state(a))
            await self.send(c.citizen, {"type": "chat.agent_joined", "agent_name": f"Agent {a.id}"})
        elif kind == "message":
            msg = {"type": "message", "id": f["id"], "from": "agent", "text": f["text"], "at": _iso()}
            await self.send(c.citizen, msg)
            await self.send(a.ws, {**msg, "conversation_id": c.id})
        elif kind == "conversation.end":
            c.state = "wrapup"
            await self.send(c.citizen, {"type": "chat.ended", "by": "agent"})
            await self.send(a.ws, {"type": "conversation.ended", "conversation_id": c.id, "by": "agent"})
        elif kind == "wrapup.done":
            del self.convs[c.id]
            a.load -= 1
            a.idle_since = time.time()
            await self.dispatch()
            await self.send(a.ws, {"type": "conversation.closed", "conversation_id": c.id})
            await self.send(a.ws, self.state(a))

    async def citizen(self, ws: ServerConnection) -> None:
        c: RawConv | None = None
        async for raw in ws:
            f = json.loads(raw)
            kind = f.get("type")
            if kind == "chat.start" and c is None:
                c = RawConv(str(uuid.uuid4()), ws)
                self.convs[c.id] = c
                self.waiting.append(c)
                await self.dispatch()
                position = next((i + 1 for i, w in enumerate(self.waiting) if w is c), 1)
                await self.send(
                    ws,
                    {
                        "type": "chat.queued",
                        "conversation_id": c.id,
                        "resume_token": uuid.uuid4().hex,
                        "position": position,
                        "estimated_wait_s": 60,
                    },
                )
            elif kind == "message" and c is not None:
                msg = {"type": "message", "id": f["id"], "from": "citizen", "text": f["text"], "at": _iso()}
                await self.send(ws, msg)
                if c.state == "assigned" and c.agent is not None:
                    await self.send(c.agent.ws, {**msg, "conversation_id": c.id})


def _iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def serve_raw(port: int, capacity: int) -> None:
    centre = RawCentre(capacity)
    async with websockets.serve(centre.handler, "127.0.0.1", port, compression=None, max_size=64 * 1024):
        await asyncio.Future()


# --- processes ------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Child:
    """A server process of ours: its own session (Ctrl+C reaches only us), killed if we die."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_listening(port: int, child: Child, timeout: float) -> None:
    deadline = now() + timeout
    while now() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"server exited with {child.proc.returncode}; see {child.log}:\n{tail(child.log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen within {timeout:.0f}s; see {child.log}")


def wait_ready(base: str, child: Child, timeout: float) -> None:
    deadline = now() + timeout
    last = ""
    while now() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"contactd exited with {child.proc.returncode}:\n{tail(child.log)}")
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.get(base + "/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = r.text
        time.sleep(0.1)
    raise RuntimeError(f"contactd not ready within {timeout:.0f}s ({last}):\n{tail(child.log)}")


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def tree_cpu_s(pid: int | None) -> float:
    """CPU seconds of ``pid`` and its live children (PostgreSQL's backends are children of the postmaster)."""
    if pid is None:
        return 0.0
    total = cpu_s(pid)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry.name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        total += cpu_s(int(entry.name))
    return total


def client_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


@dataclass
class Meter:
    """CPU seconds of several processes between two moments."""

    pids: dict[str, Callable[[], float]]
    start: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def begin(self) -> None:
        self.start = {name: read() for name, read in self.pids.items()}

    def end(self) -> None:
        self.used = {name: round(read() - self.start.get(name, 0.0), 2) for name, read in self.pids.items()}


# --- contactd set-up --------------------------------------------------------------------------------------


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


def server_env(tmp: Path, redis_url: str, db_url: str, tenant: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")}
    env.update(
        CONTACTD_REDIS_URL=redis_url,
        CONTACTD_DATABASE_URL=db_url,
        CONTACTD_TENANT=tenant,
        CONTACTD_HOST="127.0.0.1",
        CONTACTD_PORT=str(port),
        CONTACTD_SECRET_KEY=secrets.token_urlsafe(48),
        CONTACTD_DATA_DIR=str(tmp / "contactd"),
        CONTACTD_NODE_ID="bench",
    )
    return env


def log_problems(log: Path) -> list[str]:
    """Server log lines at warning level or above, the same ones counted once (contactd logs JSON lines)."""
    found: Counter[str] = Counter()
    with contextlib.suppress(OSError):
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    found[line[:300]] += 1
                continue
            if record.get("level") in ("warning", "error", "critical"):
                error = str(record.get("error", "")).strip().splitlines()
                found[
                    f"{record['level']} {record.get('logger')}: {str(record.get('msg')).strip()}"
                    + (f" ({error[-1][:200]})" if error else "")
                ] += 1
    return [f"{n} x {text}" for text, n in found.most_common()]


async def stall_probe(base: str, db_url: str) -> list[str]:
    """What a stuck contactd looks like: /readyz, and PostgreSQL's client sessions by state."""
    out = []
    try:
        async with httpx.AsyncClient(timeout=3) as http:
            r = await http.get(base + "/readyz")
        out.append(f"GET /readyz -> {r.status_code} {r.text[:200]}")
    except httpx.HTTPError as e:
        out.append(f"GET /readyz -> no answer within 3s ({type(e).__name__})")
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(db_url, timeout=5)
        try:
            rows = await conn.fetch(
                "SELECT coalesce(state, '?') AS state, count(*) AS n,"
                " round(extract(epoch FROM max(now() - state_change))::numeric, 1) AS longest_s,"
                " left(min(query), 80) AS query FROM pg_stat_activity"
                " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()"
                " GROUP BY state ORDER BY n DESC"
            )
        finally:
            await conn.close()
        out += [
            f"PostgreSQL sessions {r['state']}: {r['n']} (longest {r['longest_s']}s, last query {r['query']!r})"
            for r in rows
        ]
    return out


# --- the benchmark ---------------------------------------------------------------------------------------


def flow_figures(t: Tally, prefix: str = "") -> dict[str, Any]:
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


@contextlib.contextmanager
def on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit, so that cleanup runs as it does for Ctrl+C."""

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (contactd's uvicorn uses it too), else asyncio."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


Out = dict[str, Any]


def bench_contactd(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    redis_url = os.environ.get("CONTACTD_BENCH_REDIS_URL") or None
    db_url = os.environ.get("CONTACTD_BENCH_DATABASE_URL") or None
    servers = EmbeddedServers(tmp / "servers")
    stack.callback(servers.stop)
    t = now()
    started_redis, started_db = servers.start(redis=not redis_url, postgres=not db_url)
    redis_url, db_url = redis_url or started_redis or "", db_url or started_db or ""
    redis_pid = servers.redis.proc.pid if started_redis and servers.redis.proc else None
    pg_pid = servers.postgres.proc.pid if started_db and servers.postgres.proc else None
    tenant = "bench-" + secrets.token_hex(4)
    run_loop(seed(db_url, tenant, args.agents))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Child(
        [sys.executable, "-m", "contactd", "serve"],
        server_env(tmp, redis_url, db_url, tenant, port),
        tmp,
        tmp / "contactd.log",
    )
    stack.callback(server.stop)
    wait_ready(base, server, 60)
    print(
        f"set-up: Redis {'embedded' if started_redis else 'external'}, PostgreSQL "
        f"{'embedded' if started_db else 'external'}, tenant {tenant}, contactd pid {server.pid} on {base} "
        f"({now() - t:.1f}s)",
        flush=True,
    )
    meter = Meter(
        {
            "server": lambda: cpu_s(server.pid),
            "redis": lambda: tree_cpu_s(redis_pid),
            "postgres": lambda: tree_cpu_s(pg_pid),
            "client": client_cpu_s,
        }
    )
    tally = run_loop(
        run_flow(
            Target("contactd", base, login=True),
            args,
            before_start=meter.begin,
            on_stall=lambda: stall_probe(base, db_url),
        )
    )
    meter.end()
    out["server_peak_rss_mb"] = peak_rss_mb(server.pid)
    out["db"] = run_loop(db_check(db_url, tenant))
    server.stop()
    out["cpu"] = meter.used
    out["log_problems"] = log_problems(server.log)
    return tally


def bench_raw(args: argparse.Namespace, tmp: Path, stack: contextlib.ExitStack, out: Out) -> Tally:
    """The same flow against the raw server, RAW_REPEATS times (it is short, so noisy): the median run counts."""
    port = free_port()
    raw = Child(
        [sys.executable, os.path.abspath(__file__), "--serve-raw", str(port)], dict(os.environ), tmp, tmp / "raw.log"
    )
    stack.callback(raw.stop)
    wait_listening(port, raw, 20)
    runs: list[tuple[float, Tally, dict[str, float]]] = []
    for _ in range(RAW_REPEATS):
        meter = Meter({"server": lambda: cpu_s(raw.pid), "client": client_cpu_s})
        tally = run_loop(
            run_flow(Target("raw", f"http://127.0.0.1:{port}", login=False), args, before_start=meter.begin)
        )
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


def problems_of(args: argparse.Namespace, c: Tally, c_out: Out, r: Tally) -> list[str]:
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
    imm, waited = c.offer_latencies(True), c.offer_latencies(False)
    figures: Out = {
        "bench": "chat_flow",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "citizens": args.citizens,
        "agents": args.agents,
        "messages": args.messages,
        "capacity": CAPACITY,
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
        "raw_ws_served": len(r.closed),
        **flow_figures(r, "raw_ws_"),
        "raw_ws_server_cpu_s": r_out["cpu"].get("server"),
        "raw_ws_server_peak_rss_mb": r_out.get("server_peak_rss_mb"),
        "raw_ws_client_cpu_s": r_out["cpu"].get("client"),
        "raw_ws_runs_msgs_per_s": r_out.get("rates"),
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


def print_report(rep: Out) -> None:
    f = rep["figures"]

    def ms(key: str) -> str:
        return f"p50 {f[key + '_p50_ms']} ms, p99 {f[key + '_p99_ms']} ms"

    print(
        f"contactd chat flow: {f['citizens']} citizens, {f['agents']} agents x {f['capacity']} chats, "
        f"{f['messages']} messages each way; {f['served']} served"
    )
    print(f"  offer (chat.start -> agent has the offer), all {ms('offer')}")
    print(f"    offered at once ({f['offered_immediately']}): {ms('offer_immediate')}")
    print(f"    waited for a free agent ({f['offered_after_wait']}): {ms('offer_waited')}")
    print(f"  relay citizen -> agent {ms('c2a')}; agent -> citizen {ms('a2c')}")
    print(f"  {f['relay_msgs']} messages relayed in {f['run_s']} s: {f['relay_msgs_per_s']} msgs/s")
    print(
        f"  CPU s during the run: contactd {f['server_cpu_s']}, Redis {f['redis_cpu_s']}, "
        f"PostgreSQL {f['postgres_cpu_s']}, bench client {f['client_cpu_s']}; "
        f"contactd peak RSS {f['server_peak_rss_mb']} MB"
    )
    print(f"  PostgreSQL after the run: {rep['db']}")
    print(
        f"raw websockets relay (same frames, in memory, one process), median of "
        f"{f['raw_ws_runs_msgs_per_s']} msgs/s: {f['raw_ws_served']} served"
    )
    print(f"  relay citizen -> agent {ms('raw_ws_c2a')}; agent -> citizen {ms('raw_ws_a2c')}")
    print(
        f"  {f['raw_ws_relay_msgs']} messages relayed in {f['raw_ws_run_s']} s: "
        f"{f['raw_ws_relay_msgs_per_s']} msgs/s (server CPU {f['raw_ws_server_cpu_s']} s, "
        f"client CPU {f['raw_ws_client_cpu_s']} s)"
    )
    print(f"contactd / raw websockets: {f['ratio']}")
    if f["queued_after_joined"]:
        print(f"NOTE: {f['queued_after_joined']} citizens got chat.agent_joined before their first chat.queued")
    for line in rep["problems"][:40]:
        print(f"PROBLEM: {line}")
    for line in rep["log_problems"][:20]:
        print(f"SERVER LOG: {line}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("--citizens", type=int, default=200)
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--messages", type=int, default=5, help="messages each way per chat (at least 1)")
    p.add_argument("--timeout", type=float, default=75, help="seconds a flow may take in all")
    p.add_argument("--stall", type=float, default=15, help="seconds without any frame that count as stuck")
    p.add_argument("--serve-raw", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.citizens < 1 or args.agents < 1 or args.messages < 1:
        p.error("--citizens, --agents and --messages must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_raw:
        run_loop(serve_raw(args.serve_raw, CAPACITY))
        return 0
    started = now()
    figures: Out = {"bench": "chat_flow", "citizens": args.citizens, "agents": args.agents, "messages": args.messages}
    try:
        with on_sigterm(), contextlib.ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-")))
            c_out: Out = {}
            r_out: Out = {}
            c = bench_contactd(args, tmp, stack, c_out)
            stack.close()  # contactd, Redis and PostgreSQL stop before the raw run
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contactd-bench-raw-")))
            r = bench_raw(args, tmp, stack, r_out)
        rep = report(args, c, c_out, r, r_out, now() - started)
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
