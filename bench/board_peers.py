"""The two children of bench/board.py: the routing events (another node's router on the same Redis,
announcing each change as ``RoutingListener`` does) and the raw ``websockets`` broadcast it is compared with."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast

from bench import harness as h
from contactd.cli import MAX_FRAME
from contactd.hub import Hub
from router.model import Contact, Decision, Profile
from router.service import RouterConfig, RouterService
from router.store import LiveConversation, RouterStore

MARKER = "welsh"  # the queue only markers arrive in (a demo queue: contactd.demo.QUEUES)
BULK = ("general", "benefits", "council-tax")  # the other events' queues
CHANNELS = ("chat", "chat", "email", "sms")  # the bulk arrivals' channels, chat twice as often
Out = dict[str, Any]


def clock_ms() -> int:
    """Wall-clock milliseconds, as routing stamps arrivals."""
    return int(time.time() * 1000)


# --- the routing events: a child process playing another node's router ---------------------------------


class Announcer:
    """The router's listener on the other node: it announces changes as ``RoutingListener.changed`` does;
    nobody it routes for is available, so it offers nothing and has nothing else to tell."""

    def __init__(self, hub: Hub, channel: str) -> None:
        self.hub, self.channel = hub, channel

    async def changed(self, queue: str) -> None:
        await self.hub.publish(self.channel, {"queue": queue})

    async def offered(self, contact: Contact, agent_id: str, decision: Decision, expires_in_s: float) -> None:
        raise RuntimeError(f"offered {contact.id} to {agent_id}: no adviser should be available")

    async def offer_withdrawn(self, conversation_id: str, agent_id: str, reason: str) -> None: ...

    async def wrapup_expired(self, conversation_id: str, agent_id: str) -> None: ...

    async def escalated(self, conversation_id: str, step: int, priority: int, overflow: list[str]) -> None: ...

    async def agent_missed(self, agent_id: str, missed: int) -> None: ...


@dataclass
class Flow:
    """The events one after another: what they do, and when each marker was made and each event done."""

    service: RouterService
    cfg: Out
    rng: random.Random
    advisers: list[Any]  # [id, name, queues]
    bulk: deque[str] = field(default_factory=deque)  # contacts waiting in BULK, oldest first
    away: set[str] = field(default_factory=set)
    markers: list[tuple[int, float]] = field(default_factory=list)  # (k, when its arrive() was called)
    done: Counter[int] = field(default_factory=Counter)  # 100 ms slot of the clock -> events done in it
    flips: int = 0
    errors: list[str] = field(default_factory=list)

    def contact(self, queue: str, channel: str = "chat") -> LiveConversation:
        return LiveConversation(str(uuid.uuid4()), queue, channel, "queued", "", clock_ms(), "Bench Citizen", "en")

    async def arrive(self) -> None:
        c = self.contact(self.rng.choice(BULK), self.rng.choice(CHANNELS))
        self.bulk.append(c.id)
        await self.service.arrive(c)

    async def flip(self) -> None:
        """The next adviser goes away, or offline when away (both change their row on the board)."""
        agent_id, name, queues = self.advisers[self.flips % len(self.advisers)]
        self.flips += 1
        status = "offline" if agent_id in self.away else "away"
        self.away.symmetric_difference_update({agent_id})
        await self.service.set_status(agent_id, status, Profile(tuple(queues)), name=name, dispatch=False)

    async def event(self, i: int) -> None:
        try:
            if i % self.cfg["sample_every"] == 0:
                k = len(self.markers) + 1
                self.markers.append((k, h.now()))
                if await self.service.arrive(self.contact(MARKER)) != k:
                    self.errors.append(f"marker {k} did not land at position {k}")
            elif self.rng.random() < self.cfg["agent_share"]:
                await self.flip()
            elif len(self.bulk) >= self.cfg["waiting"]:
                await self.service.abandon(self.bulk.popleft())
            else:
                await self.arrive()
            self.done[int(h.now() * 10)] += 1
        except Exception as e:
            self.errors.append(f"event {i}: {type(e).__name__}: {e}"[:300])


async def pace(flow: Flow, rate: float, stop: asyncio.Event) -> None:
    """Start ``rate`` events a second until ``stop``, at most 64 at once; overdue ones start when a slot frees."""
    gate, tasks, start, i = asyncio.Semaphore(64), set[asyncio.Task[None]](), h.now(), 0

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        gate.release()

    while not stop.is_set():
        while i < int((h.now() - start) * rate) and not stop.is_set():  # behind, it may never catch up
            await gate.acquire()
            tasks.add(task := asyncio.create_task(flow.event(i)))
            task.add_done_callback(done)
            i += 1
        await asyncio.sleep(0.004)
    await asyncio.gather(*tasks)


async def run_events(cfg: Out) -> None:
    """Advisers away, the backlog queued, then events until SIGTERM; the markers and counts into cfg["out"]."""
    redis = Redis.from_url(cfg["redis_url"])
    store = RouterStore(redis, cfg["tenant"])
    service = RouterService(store, Announcer(Hub(redis), store.keys.changed()), RouterConfig(), clock_ms)
    flow = Flow(service, cfg, random.Random(cfg["seed"]), cfg["advisers"])
    for _ in range(len(flow.advisers)):
        await flow.flip()
    await h.gather_limited(cfg["waiting"], 32, lambda _: flow.arrive())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    Path(cfg["out"] + ".ready").write_text(str(h.now()))
    try:
        await pace(flow, cfg["rate"], stop)
    finally:
        result = {"markers": flow.markers, "done": dict(flow.done), "errors": flow.errors[:50]}
        Path(cfg["out"]).write_text(json.dumps(result))
        await redis.aclose()


# --- the raw broadcast: a child process ----------------------------------------------------------------


async def serve_raw(port: int, frames: Path, deflate: bool) -> None:
    """Each board gets the first frame on connect; ``go`` on ``/control`` replays the rest to every board with
    ``broadcast`` at the offsets board 0 received them, then answers with when each was sent."""
    data = json.loads(frames.read_text())
    boards: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        if ws.request is not None and ws.request.path == "/control":
            await ws.recv()
            start, sent = h.now(), []
            for offset, text in data["stream"]:
                await asyncio.sleep(max(0.0, start + offset - h.now()))
                sent.append(h.now())
                broadcast(boards, text)
            await ws.send(json.dumps(sent))
            await ws.wait_closed()
            return
        await ws.send(data["first"])
        boards.add(ws)
        try:
            await ws.wait_closed()
        finally:
            boards.discard(ws)

    compression = "deflate" if deflate else None
    async with websockets.serve(handler, "127.0.0.1", port, compression=compression, max_size=MAX_FRAME):
        await asyncio.Future()
