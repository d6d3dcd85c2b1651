"""The denominator of the chat flow benchmark: a plain ``websockets`` server that relays chats from memory.

    .venv/bin/python bench/raw_relay.py PORT [--capacity 3] [--queue general]

It sends the frames contactd sends for the benchmark's flow (docs/protocol.md),
echoes included, on ``/ws/agent`` and ``/ws/chat``, but keeps its state in
memory: no Redis, no PostgreSQL, no sign-in, one process. ``bench/chat_flow.py``
starts it as its own process and drives it with the same client code.
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
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import websockets
from websockets.asyncio.server import ServerConnection

from bench.harness import Frame, run_loop


@dataclass(eq=False)
class RawAgent:
    """One agent console socket."""

    ws: ServerConnection
    id: int  # 1, 2, ... in order of connection
    status: str = "offline"
    load: int = 0  # chats offered or assigned and not yet wrapped up
    idle_since: float = 0.0  # wall clock: the longest idle available agent gets the next offer


@dataclass(eq=False)
class RawConv:
    """One citizen's chat."""

    id: str
    citizen: ServerConnection
    agent: RawAgent | None = None  # set when offered
    state: str = "queued"  # queued, offered, assigned, wrapup


def _iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class RawCentre:
    """The frames contactd sends for this flow, kept in memory: no Redis, no PostgreSQL, no sign-in."""

    def __init__(self, capacity: int, queue: str) -> None:
        self.capacity = capacity  # chats per agent at once
        self.queue = queue  # the queue name put in offers
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

    def chat_frame(self, kind: str, c: RawConv) -> Frame:
        return {
            "type": kind,
            "conversation_id": c.id,
            "channel": "chat",
            "queue": self.queue,
            "citizen": {"name": "Citizen", "language": "en"},
        }

    async def dispatch(self) -> None:
        """Offer waiting chats, oldest first, each to the available agent with a free slot idle longest."""
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
            await self.send(a.ws, {**self.chat_frame("offer", c), "expires_in_s": 30})
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
            await self.send(a.ws, {**self.chat_frame("conversation.assigned", c), "transcript": []})
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
                await self.start(c)
            elif kind == "message" and c is not None:
                msg = {"type": "message", "id": f["id"], "from": "citizen", "text": f["text"], "at": _iso()}
                await self.send(ws, msg)
                if c.state == "assigned" and c.agent is not None:
                    await self.send(c.agent.ws, {**msg, "conversation_id": c.id})

    async def start(self, c: RawConv) -> None:
        """Queue a new chat, offer what can be offered, then tell the citizen (``chat.queued``)."""
        self.convs[c.id] = c
        self.waiting.append(c)
        await self.dispatch()
        position = next((i + 1 for i, w in enumerate(self.waiting) if w is c), 1)
        await self.send(
            c.citizen,
            {
                "type": "chat.queued",
                "conversation_id": c.id,
                "resume_token": uuid.uuid4().hex,
                "position": position,
                "estimated_wait_s": 60,
            },
        )


async def serve_raw(port: int, capacity: int, queue: str) -> None:
    """Serve on 127.0.0.1:``port`` until cancelled or killed."""
    centre = RawCentre(capacity, queue)
    async with websockets.serve(centre.handler, "127.0.0.1", port, compression=None, max_size=64 * 1024):
        await asyncio.Future()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    p.add_argument("port", type=int)
    p.add_argument("--capacity", type=int, default=3, help="chats per agent at once")
    p.add_argument("--queue", default="general", help="the queue name put in offers")
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve_raw(args.port, args.capacity, args.queue))
    return 0


if __name__ == "__main__":
    sys.exit(main())
