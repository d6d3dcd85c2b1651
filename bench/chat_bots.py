"""The chat flow's clients: robot agents and citizens, and what they observe (the same for contactd and the raw relay).

M agents go available; N citizens start a chat at once. Agents accept every
offer at once; citizen and agent take turns, ``messages`` messages each way,
citizen first; after the last reply the agent ends the chat and wraps up, and
the freed slot takes the next offer. Every latency is on the client's clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from bench.harness import Frame, gather_limited, now

QUEUE = "general"  # the queue every citizen asks for; the agents' skill
TEXT = "Hello, I have a question about my account, message {n}"


@dataclass
class Tally:
    """Everything one flow observed, on the client's clock."""

    citizens: int
    messages: int
    sent_at: dict[str, float] = field(default_factory=dict)  # message client id -> when sent
    start_at: dict[str, float] = field(default_factory=dict)  # conversation id -> when chat.start was sent
    citizen_of: dict[str, int] = field(default_factory=dict)  # conversation id -> citizen index
    offer_at: dict[str, tuple[float, bool]] = field(default_factory=dict)  # conv -> (when, immediate)
    c2a: list[float] = field(default_factory=list)  # relay latencies citizen -> agent, seconds
    a2c: list[float] = field(default_factory=list)  # relay latencies agent -> citizen, seconds
    unexpected: int = 0  # message ids received that were never sent (or twice)
    duplicate_offers: int = 0
    echoes: Counter[str] = field(default_factory=Counter)  # side -> own messages echoed back to it
    stage: dict[int, str] = field(default_factory=dict)  # citizen index -> how far they got
    closed: set[str] = field(default_factory=set)  # conversations the agent saw conversation.closed for
    errors: list[str] = field(default_factory=list)
    stall: list[str] = field(default_factory=list)  # what the server looked like when the run got stuck
    frames: int = 0  # every frame any client received: progress
    assigned: set[str] = field(default_factory=set)  # conversations an agent got conversation.assigned for
    queued_after_joined: int = 0  # citizens whose first chat.queued came after chat.agent_joined
    citizens_done: int = 0
    t0: float = 0.0  # when the first chat.start was sent
    t_end: float = 0.0  # when the last conversation closed (or the run was found stuck)
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
        """Seconds from chat.start to the offer: all, or only those offered at once (True) / after a wait."""
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
        return out + self.message_problems()

    def message_problems(self) -> list[str]:
        """Messages lost or duplicated, offers repeated, echoes missing."""
        out = []
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


@dataclass(frozen=True)
class Target:
    """Where the clients connect; agents sign in with ``password`` first (contactd), or not when None (raw)."""

    name: str
    base: str
    password: str | None

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
    """The first frame for which ``pred`` holds, skipping the others."""
    deadline = now() + timeout
    while True:
        frame: Frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - now())))
        if pred(frame):
            return frame


async def agent_ready(target: Target, username: str, http: httpx.AsyncClient) -> ClientConnection:
    """An agent console socket, signed in (contactd) and available."""
    headers = {}
    if target.password is not None:
        r = await http.post("/api/login", json={"username": username, "password": target.password})
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
            self.queued(f["conversation_id"])
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

    def queued(self, conversation_id: str) -> None:
        """The first chat.queued: it names the conversation (and may come after chat.agent_joined)."""
        tally, i = self.tally, self.i
        self.conversation_id = conversation_id
        tally.start_at[conversation_id] = self.started
        tally.citizen_of[conversation_id] = i
        if tally.stage[i] == "starting":
            tally.stage[i] = "queued"
        else:
            tally.queued_after_joined += 1


Probe = Callable[[], Awaitable[list[str]]]  # what the server looks like, asked when a run is stuck


async def no_probe() -> list[str]:
    return []


async def run_flow(
    target: Target,
    args: argparse.Namespace,
    before_start: Callable[[], None] = lambda: None,
    on_stall: Probe = no_probe,
) -> Tally:
    """Agents ready, then every citizen starts at once; returns what was observed.

    ``args`` carries ``citizens``, ``agents``, ``messages``, ``stall`` and ``timeout``; ``before_start``
    runs just before the first chat.start (to begin metering).
    """
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
