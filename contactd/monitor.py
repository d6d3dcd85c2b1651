"""A supervisor monitoring live conversations from the queue board: reading a chat as it happens, the
citizen unaware; and on a call, listening, whispering to the adviser, or joining in (barge). Every start
and change of mode is audited.

A conversation's messages, both ways, are published on its citizen channel; the board subscribes to it
while monitoring. A call's audio is on the node holding its media: the board's WebRTC offer goes there on
the same channel, and the answer comes back on the supervisor's board channel.
"""

from __future__ import annotations

import json
import time
from typing import Any

from contactd.errors import Conflict, NotFound, Unavailable
from contactd.hub import Frame, Handler, Peer
from contactd.staff import User

MODES = ("listen", "whisper", "barge")
MAX_MONITORED = 10
LIVE = ("queued", "offered", "assigned", "wrapup")


class Monitors:
    """The conversations one board socket monitors."""

    def __init__(self, svc: Any, peer: Peer, user: User) -> None:
        self.svc = svc
        self.peer = peer
        self.user = user
        self.watching: dict[str, Handler] = {}
        self.calls: set[str] = set()
        """Calls this board listens to (their signalling comes back on the supervisor's board channel)."""
        self._board: Handler | None = None

    async def handle(self, kind: str, frame: dict[str, Any]) -> None:
        cid = str(frame["conversation_id"])
        if kind == "monitor.start":
            await self.start(cid)
        elif kind == "monitor.stop":
            await self.stop(cid)
        elif kind == "monitor.rtc.offer":
            await self.listen(cid, str(frame["mode"]), str(frame["sdp"]))
        elif kind == "monitor.mode":
            await self.change_mode(cid, str(frame["mode"]))

    async def start(self, cid: str) -> None:
        """Send the conversation so far, then each message as it comes, until it ends or ``stop``."""
        conv = await self._live(cid)
        if cid in self.watching:
            raise Conflict("You are already monitoring that conversation.")
        if len(self.watching) >= MAX_MONITORED:
            raise Conflict(f"You can monitor at most {MAX_MONITORED} conversations at once.")
        sent: set[tuple[Any, Any]] = set()
        held: list[Frame] | None = []  # frames that come while the transcript is read, sent after it

        def forward(frame: Frame) -> None:
            if held is not None:
                held.append(frame)
            else:
                self._relay(cid, frame, sent)

        self.watching[cid] = forward
        await self.svc.hub.subscribe(self.svc.keys.to_citizen(cid), forward)  # before reading: nothing missed
        messages = [m.frame() for m in await self.svc.store.transcript(cid)]
        sent.update((m["from"], m["id"]) for m in messages)
        await self._audit(cid, "read")
        started: Frame = {
            "type": "monitor.started",
            "conversation_id": cid,
            "channel": conv.channel,
            "queue": conv.queue,
            "agent_id": conv.agent_id,
            "messages": messages,
        }
        if conv.channel == "voice":  # the STUN/TURN servers to listen to the call through
            started["ice_servers"] = self.svc.conversations.ice.for_browser(str(self.user.id), time.time())
        self.peer.send(started)
        pending, held = held or [], None
        for frame in pending:
            self._relay(cid, frame, sent)

    def _relay(self, cid: str, frame: Frame, sent: set[tuple[Any, Any]]) -> None:
        """A frame of the monitored conversation, as the board is told it (messages already sent are not)."""
        kind = frame.get("type")
        if kind == "message" and (frame.get("from"), frame.get("id")) not in sent:
            message = {k: v for k, v in frame.items() if k != "type"}
            self.peer.send({"type": "monitor.message", "conversation_id": cid, "message": message})
        elif kind == "chat.transferred":
            self.peer.send({"type": "monitor.transferred", "conversation_id": cid, "queue": frame.get("queue")})
        elif kind == "chat.ended":
            self.peer.send({"type": "monitor.ended", "conversation_id": cid})

    async def stop(self, cid: str) -> None:
        handler = self.watching.pop(cid, None)
        if handler is not None:
            await self.svc.hub.unsubscribe(self.svc.keys.to_citizen(cid), handler)
        if cid in self.calls:
            self.calls.discard(cid)
            await self._to_call(cid, {"type": "monitor.stop"})
        self.peer.send({"type": "monitor.stopped", "conversation_id": cid})

    async def listen(self, cid: str, mode: str, sdp: str) -> None:
        """Join a call's audio in ``mode``: the node holding it answers on this supervisor's board channel."""
        conv = await self._live(cid)
        if conv.channel != "voice" or conv.state != "assigned":
            raise Conflict("Only a call an adviser has answered can be listened to.")
        if self._board is None:
            self._board = self._from_call
            await self.svc.hub.subscribe(self.svc.keys.to_board(str(self.user.id)), self._board)
        self.calls.add(cid)
        await self._to_call(cid, {"type": "monitor.offer", "mode": mode, "sdp": sdp})
        await self._audit(cid, mode)

    async def change_mode(self, cid: str, mode: str) -> None:
        if cid not in self.calls:
            raise Conflict("You are not listening to that call.")
        await self._to_call(cid, {"type": "monitor.mode", "mode": mode})
        await self._audit(cid, mode)

    async def close(self) -> None:
        """The board socket closed: stop everything it monitored."""
        for cid in list(self.watching):
            handler = self.watching.pop(cid)
            await self.svc.hub.unsubscribe(self.svc.keys.to_citizen(cid), handler)
        for cid in list(self.calls):
            try:
                await self._to_call(cid, {"type": "monitor.stop"})
            except Unavailable:
                pass
        self.calls.clear()
        if self._board is not None:
            await self.svc.hub.unsubscribe(self.svc.keys.to_board(str(self.user.id)), self._board)

    def _from_call(self, frame: Frame) -> None:
        if frame.get("conversation_id") in self.calls:
            self.peer.send(frame)

    async def _to_call(self, cid: str, frame: Frame) -> None:
        who = {"supervisor_id": str(self.user.id), "name": self.user.name}
        heard = await self.svc.hub.redis.publish(self.svc.keys.to_citizen(cid), json.dumps({**frame, **who}))
        if not heard:
            raise Unavailable("The call's line is not answering; it may have just ended.")

    async def _live(self, cid: str) -> Any:
        try:
            conv = await self.svc.store.conversation(cid)
        except (NotFound, ValueError):
            raise NotFound("No such conversation.") from None
        if conv.state not in LIVE:
            raise Conflict("That conversation has ended.")
        return conv

    async def _audit(self, cid: str, mode: str) -> None:
        await self.svc.store.event(
            "conversation.monitored", conversation_id=cid, data={"by": self.user.id, "mode": mode}
        )
