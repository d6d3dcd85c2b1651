"""``/ws/agent``: the agent console's socket (session cookie and Origin checked before the upgrade)."""

from __future__ import annotations

import time
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
        conv, user = self.svc.conversations, self.user
        cid = f.get("conversation_id", "")
        if kind == "ping":
            self.peer.send({"type": "pong"})
        elif kind == "agent.status":
            await self.svc.agents.set_status(user, f["status"], f.get("reason") or "")
        elif kind == "offer.accept":
            await conv.accept(user, cid)
        elif kind == "offer.reject":
            await conv.reject(user, cid)
        elif kind == "message":
            await conv.agent_message(user, cid, f["id"], f["text"])
        elif kind == "conversation.end":
            await conv.agent_end(user, cid)
        elif kind == "wrapup.done":
            if f["disposition"] not in DISPOSITIONS:
                raise Conflict(f"Choose a disposition: {', '.join(DISPOSITIONS)}.")
            await conv.wrapup_done(user, cid, f["disposition"], f.get("notes"))
        elif kind == "transfer":
            await conv.transfer(user, cid, f["queue"])

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
