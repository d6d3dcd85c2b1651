"""``/ws/agent``: the agent console's socket (session cookie and Origin checked before the upgrade)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.websockets import WebSocket

from contactd.auth import staff_socket_user
from contactd.console_protocol import AGENT_FRAMES, DISPOSITIONS
from contactd.errors import Conflict
from contactd.hub import Frame, Peer, accepted, serve_frames
from contactd.staff import User


class AgentSession:
    """One console socket of a signed-in agent."""

    def __init__(self, svc: Any, peer: Peer, user: User) -> None:
        self.svc = svc
        self.peer = peer
        self.user = user
        self.channel = svc.keys.to_agent(str(user.id))

    async def open(self) -> None:
        await self.svc.hub.subscribe(self.channel, self.peer.send)
        await self.svc.agents.connected(self.user)
        for frame in await self.initial_frames():
            self.peer.send(frame)

    async def initial_frames(self) -> list[Frame]:
        """What a console needs after (re)connecting: state, conversations it holds, open offers."""
        conv = self.svc.conversations
        frames = [await self.svc.agents.state_frame(str(self.user.id))]
        for c in await self.svc.store.assigned_to(self.user.id):
            frames.append(await conv.assigned_frame(c))
        now_ms = int(time.time() * 1000)
        for cid in await self.svc.router_store.offers_of(str(self.user.id)):
            live = await self.svc.router_store.conversation(cid)
            deadline = int(await self.svc.redis.zscore(self.svc.keys.offers(), cid) or now_ms)
            if live is not None:
                frames.append(
                    {
                        "type": "offer",
                        "conversation_id": cid,
                        "channel": live.channel,
                        "queue": live.queue,
                        "expires_in_s": max(0, round((deadline - now_ms) / 1000)),
                        "citizen": {"name": live.name, "language": live.language},
                    }
                )
        return frames

    async def handle(self, kind: str, f: dict[str, Any]) -> None:
        """Act on one checked frame (see AGENT_FRAMES for their fields)."""
        conv, user = self.svc.conversations, self.user
        cid = f.get("conversation_id", "")
        actions: dict[str, Callable[[], Awaitable[None]]] = {
            "agent.status": lambda: self.svc.agents.set_status(user, f["status"], f.get("reason") or ""),
            "offer.accept": lambda: conv.accept(user, cid),
            "offer.reject": lambda: conv.reject(user, cid),
            "message": lambda: conv.agent_message(user, cid, f["id"], f["text"], f.get("subject")),
            "conversation.end": lambda: conv.agent_end(user, cid),
            "wrapup.done": lambda: self.wrapup(cid, f),
            "transfer": lambda: self.transfer(cid, f),
            "rtc.offer": lambda: conv.call_signal(user, cid, {"type": "rtc.offer", "sdp": f["sdp"]}),
            "call.hold": lambda: conv.call_signal(user, cid, {"type": "call.hold"}),
            "call.resume": lambda: conv.call_signal(user, cid, {"type": "call.resume"}),
            "call.hangup": lambda: conv.agent_end(user, cid),
            "call.record.pause": lambda: conv.call_signal(user, cid, {"type": "call.record.pause"}),
            "call.record.resume": lambda: conv.call_signal(user, cid, {"type": "call.record.resume"}),
            "ping": self.pong,
        }
        await actions[kind]()

    async def pong(self) -> None:
        self.peer.send({"type": "pong"})

    async def wrapup(self, cid: str, f: dict[str, Any]) -> None:
        if f["disposition"] not in DISPOSITIONS:
            raise Conflict(f"Choose a disposition: {', '.join(DISPOSITIONS)}.")
        await self.svc.conversations.wrapup_done(self.user, cid, f["disposition"], f.get("notes"))

    async def transfer(self, cid: str, f: dict[str, Any]) -> None:
        if f.get("queue") is None and f.get("agent_id") is None:
            raise Conflict("Name a queue, an adviser, or both.")
        await self.svc.conversations.transfer(self.user, cid, f.get("queue"), f.get("agent_id"), f.get("reason") or "")

    async def close(self) -> None:
        await self.svc.hub.unsubscribe(self.channel, self.peer.send)
        await self.svc.agents.disconnected(self.user)


async def agent_socket(ws: WebSocket) -> None:
    """``/ws/agent``: any signed-in member of staff (supervisors may answer too)."""
    svc = ws.app.state.services
    user = await staff_socket_user(ws, svc.settings, svc.staff, ("agent", "supervisor", "admin"))
    if user is None:
        return
    async with accepted(ws, svc.metrics, "agent") as peer:
        session = AgentSession(svc, peer, user)
        try:
            await session.open()
            await serve_frames(peer, AGENT_FRAMES, session.handle)
        finally:
            await session.close()
