"""The web chat channel: ``/ws/chat``, one citizen per socket.

A citizen who loses the connection may resume with their token; one who does
not come back within the grace period is treated as having left.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiortc.sdp import SessionDescription
from starlette.websockets import WebSocket

from channels.chat import protocol as chat
from channels.chat import verify
from channels.frames import FrameError
from channels.voice.numbers import uk_number
from contactd.errors import NotFound
from contactd.hub import Frame, Peer, accepted, serve_frames
from contactd.tasks import TaskSet

log = logging.getLogger("channels.chat")
CALL_SIGNALLING = (
    "rtc.offer",
    "call.hold",
    "call.resume",
    "call.record.pause",
    "call.record.resume",
    "monitor.offer",
    "monitor.mode",
    "monitor.stop",
)
"""Frames on the citizen's channel meant for the node holding a call's audio, not for the citizen (the
adviser's call controls, and a supervisor listening in)."""


def has_audio(sdp: str) -> bool:
    """Is ``sdp`` an SDP offer with an audio section (RFC 8866)?"""
    try:
        return any(m.kind == "audio" for m in SessionDescription.parse(sdp).media)
    except Exception:  # aiortc's parser raises several kinds (even AssertionError) on what it cannot read
        return False


class CitizenSession:
    """The state of one citizen socket."""

    def __init__(self, svc: Any, peer: Peer) -> None:
        self.svc = svc
        self.peer = peer
        self.conversation_id: str | None = None
        self.queue = ""
        self.token: str | None = None
        self.position = 0
        self.waiting = False
        self.ended = False
        self.call = False
        """A call from the chat page: it ends with this socket (its audio cannot come back without it)."""
        self.held: list[Frame] | None = None
        """Frames that arrive while a resumed chat's transcript is read."""
        self.resent: set[tuple[Any, Any]] = set()
        """The messages a resumed chat's transcript gave again, by sender and id: not to be sent twice."""

    def deliver(self, frame: Frame) -> None:
        """A frame for this conversation's citizen, from any node (not the adviser's call signalling)."""
        if frame.get("type") in CALL_SIGNALLING:
            return
        if self.held is not None:
            self.held.append(frame)
            return
        if frame.get("type") == "message" and (frame.get("from"), frame.get("id")) in self.resent:
            return  # stored before the transcript was read, published after: the citizen has it
        if frame.get("type") == "chat.agent_joined":
            self.waiting = False
            self.svc.citizens.leave_queue(self)
        elif frame.get("type") == "chat.transferred":
            # Waiting again, for another adviser: positions are sent as the queue moves.
            self.waiting, self.position, self.queue = True, 0, str(frame.get("queue") or self.queue)
            self.svc.citizens.join_queue(self)
            self.svc.citizens.tasks.spawn(self.svc.citizens.refresh(self.queue))
        elif frame.get("type") == "chat.ended":
            self.ended = True
            self.waiting = False
            self.svc.citizens.leave_queue(self)
        self.peer.send(frame)

    async def handle(self, kind: str, frame: dict[str, Any]) -> None:
        if kind == "ping":
            self.peer.send({"type": "pong"})
        elif kind in ("chat.start", "call.start"):
            await self.start(frame, call=kind == "call.start")
        elif kind == "chat.resume":
            await self.resume(frame["resume_token"])
        elif self.conversation_id is None:
            raise FrameError("no_chat", "Start or resume a chat first.", frame.get("id"))
        else:
            await self.in_conversation(kind, frame, self.conversation_id)

    async def in_conversation(self, kind: str, frame: dict[str, Any], conversation_id: str) -> None:
        """A frame about the conversation this socket has."""
        if kind == "message":
            echo, new = await self.svc.conversations.citizen_message(conversation_id, frame["id"], frame["text"])
            if not new:
                self.peer.send(echo)  # the sender missed the first echo; nobody else needs it again
        elif kind == "chat.end" and not self.call:
            self.ended = True
            await self.svc.conversations.citizen_left(conversation_id)
        elif kind in ("call.hangup", "chat.end"):
            await self.hang_up()
        elif kind == "callback.request":
            await self.callback(frame["number"])
        elif kind in ("verify.start", "verify.check") and (self.ended or self.call):
            raise FrameError("conflict", "A mobile number can be linked only during a chat.")
        elif kind == "verify.start":
            language = (await self.svc.store.conversation(conversation_id)).language
            where = self.peer.address
            self.peer.send(await verify.start(self.svc, conversation_id, frame["phone"], language, where))
        elif kind == "verify.check":
            self.peer.send(await verify.check(self.svc, conversation_id, frame["code"]))

    async def start(self, frame: dict[str, Any], call: bool = False) -> None:
        if self.conversation_id is not None:
            raise FrameError("already_started", "This socket already has a chat.")
        queue, language = frame["queue"], frame.get("language") or "en"
        leg, answer = await self.answer_call(frame["sdp"]) if call else (None, "")
        try:
            conv, token = await self.svc.conversations.start_chat(
                queue, frame["name"], language, frame.get("citizen_key"), "voice" if call else "chat"
            )
        except NotFound:
            if leg is not None:
                await leg.close()
            raise FrameError("unknown_queue", f"There is no topic called {queue[:40]!r}.") from None
        self.token = token
        opens_at = self.svc.conversations.opens_at(queue)
        if opens_at is not None and leg is not None:
            await leg.close()
        if opens_at is not None:
            self.conversation_id, self.queue, self.ended = conv.id, queue, True
            self.peer.send(await self.svc.conversations.close_outside_hours(conv, opens_at))
            return
        # Listen first, tell the citizen they are queued, and only then offer the chat,
        # so that the citizen never hears of an agent before hearing they are queued.
        await self.attach(conv.id, queue)
        if leg is not None:
            await self.svc.lines.hold_web_call(leg, conv.id)
            self.call = True
            self.peer.send({"type": "call.answer", "conversation_id": conv.id, "sdp": answer})
        position = await self.svc.conversations.enqueue(conv)
        self.waiting = True
        self.svc.citizens.join_queue(self)
        self.send_position(position, await self.svc.conversations.estimator(queue))
        await self.svc.conversations.dispatch(conv.id)

    async def resume(self, token: str) -> None:
        if self.conversation_id is not None:
            raise FrameError("already_started", "This socket already has a chat.")
        try:
            conv = await self.svc.conversations.by_resume_token(token)
        except NotFound:
            raise FrameError("unknown_token", "That chat cannot be resumed; please start a new one.") from None
        self.token = token
        # Listen before reading the transcript, so that a message sent meanwhile is in one or the other:
        # what arrives is held until the transcript has gone, and sent unless the transcript has it.
        self.held = []
        try:
            await self.attach(conv.id, conv.queue)
            frame = await self.svc.conversations.resumed(conv.id)
        finally:  # never left holding: a failed resume still lets this socket hear its chat
            held, self.held = self.held, None
        self.peer.send(frame)
        self.resent = {(m["from"], m["id"]) for m in frame["transcript"]}
        # The state as read, then what changed since (an adviser joining, the chat ending) on top of it.
        self.ended = frame["state"] == "ended"
        if frame["state"] == "queued":
            self.waiting = True
            self.svc.citizens.join_queue(self)
        for late in held:
            self.deliver(late)
        if self.waiting:
            await self.svc.citizens.refresh(self.queue)

    async def attach(self, conversation_id: str, queue: str) -> None:
        self.conversation_id, self.queue = conversation_id, queue
        await self.svc.hub.subscribe(self.svc.keys.to_citizen(conversation_id), self.deliver)

    def send_position(self, position: int, estimate: Callable[[int], int | None]) -> None:
        assert self.conversation_id is not None
        self.position = position
        self.peer.send(chat.queued(self.conversation_id, self.token, position, estimate(position)))

    async def answer_call(self, sdp: str) -> tuple[Any, str]:
        """Answer a web call's WebRTC offer before anything is recorded: a bad one changes nothing."""
        if not has_audio(sdp):
            raise FrameError("bad_value", "The field 'sdp' must be an SDP offer with audio.")
        try:
            leg, answer = await self.svc.lines.web_call(sdp)
        except ValueError:
            raise FrameError("bad_value", "The field 'sdp' must be an SDP offer we can answer.") from None
        return leg, answer

    async def callback(self, given: str) -> None:
        """Be called back instead of chatting: the chat ends for this page, the call keeps its place."""
        number = uk_number(given)
        if number is None:
            raise FrameError(
                "bad_value", "Give a UK landline or mobile number (not premium-rate) to be called back on."
            )
        if not self.waiting or self.call or self.conversation_id is None:
            raise FrameError("conflict", "You can ask for a call back only while your chat is waiting.")
        await self.svc.lines.callbacks.from_chat(self.conversation_id, number)
        self.ended, self.waiting = True, False
        self.svc.citizens.leave_queue(self)
        self.peer.send({"type": "callback.accepted", "conversation_id": self.conversation_id, "number": number})

    async def hang_up(self) -> None:
        """The caller hung up (or their page went): the call ends like a chat the citizen left."""
        self.ended = True
        leg = self.svc.lines.legs.get(self.conversation_id)
        if leg is not None:
            await self.svc.lines.finish(leg)
        elif self.conversation_id is not None:
            await self.svc.conversations.citizen_left(self.conversation_id)

    async def close(self) -> None:
        self.svc.citizens.leave_queue(self)
        if self.conversation_id is None:
            return
        if self.call and not self.ended:
            await self.hang_up()
        await self.svc.hub.unsubscribe(self.svc.keys.to_citizen(self.conversation_id), self.deliver)
        if not self.ended:
            self.svc.citizens.watch_for_return(self.conversation_id)


class Citizens:
    """Citizen sockets on this node: positions to refresh, and leavers to watch for."""

    def __init__(self, svc: Any, grace_s: float) -> None:
        self.svc = svc
        self.grace_s = grace_s
        self.by_queue: dict[str, set[CitizenSession]] = defaultdict(set)
        self.tasks = TaskSet()

    def join_queue(self, s: CitizenSession) -> None:
        self.by_queue[s.queue].add(s)

    def leave_queue(self, s: CitizenSession) -> None:
        self.by_queue[s.queue].discard(s)

    async def refresh(self, queue: str) -> None:
        """Re-send positions that changed in ``queue`` ('' = every queue): one read per queue, not per citizen."""
        for q in [queue] if queue else list(self.by_queue):
            sessions = [s for s in self.by_queue.get(q, ()) if s.waiting and s.conversation_id]
            if not sessions:
                continue
            positions = await self.svc.router_store.positions(q, [s.conversation_id for s in sessions])
            moved = [(s, p) for s, p in zip(sessions, positions, strict=True) if p is not None and p != s.position]
            if moved:
                estimate = await self.svc.conversations.estimator(q)
                for s, p in moved:
                    s.send_position(p, estimate)

    def watch_for_return(self, conversation_id: str) -> None:
        self.tasks.spawn(self._leave_unless_back(conversation_id))

    async def _leave_unless_back(self, conversation_id: str) -> None:
        await asyncio.sleep(self.grace_s)
        # Every node subscribes to the channel of each citizen connected to it, so
        # no subscriber anywhere means the citizen has not come back.
        channel = self.svc.keys.to_citizen(conversation_id)
        ((_, listeners),) = await self.svc.redis.pubsub_numsub(channel)
        if listeners == 0:
            log.info("citizen did not come back", extra={"conversation_id": conversation_id})
            await self.svc.conversations.citizen_left(conversation_id)

    async def stop(self) -> None:
        await self.tasks.stop()


async def chat_socket(ws: WebSocket) -> None:
    """``/ws/chat``: anonymous citizens."""
    svc = ws.app.state.services
    async with accepted(ws, svc.metrics, "chat") as peer:
        session = CitizenSession(svc, peer)
        try:
            await serve_frames(peer, chat.CITIZEN_FRAMES, session.handle)
        finally:
            await session.close()
