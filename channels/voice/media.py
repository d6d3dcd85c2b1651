"""``WS /twilio/media``: a call's audio (Twilio Media Streams), and the calls this node holds.

A stream is accepted only with a valid signature on the upgrade and a ``start`` whose conversation
id is one we issued for that CallSid, in the menu. It then joins its queue; the adviser's signalling
reaches this node through the conversation's citizen channel, from whichever node their console is on.
https://www.twilio.com/docs/voice/media-streams/websocket-messages
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from channels.voice import prompts, signature
from channels.voice.callback import Callbacks
from channels.voice.ice import IceServers
from channels.voice.leg import CallLeg, TwilioLeg, WebLeg
from channels.voice.recording import Recorder, recording_path
from channels.voice.supervision import Supervision
from contactd.tasks import TaskSet

log = logging.getLogger("channels.voice")


class Lines:
    """The calls whose media stream this node holds."""

    def __init__(self, svc: Any, ice: IceServers) -> None:
        self.svc = svc
        self.ice = ice
        self.legs: dict[str, CallLeg] = {}
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.callbacks = Callbacks(self)
        self.first_announcement_s = 1.0
        self.announce_every_s = 30.0
        """How soon a waiting caller hears their place and expected wait, and how often again."""
        self.tasks = TaskSet()

    async def start(self, ws: WebSocket, start: dict[str, Any]) -> TwilioLeg | None:
        """A stream started: check it is ours, listen for its signalling, queue the call. None if not ours."""
        svc, cid = self.svc, str((start.get("customParameters") or {}).get("conversation_id", ""))
        sid = str(start.get("callSid", ""))
        conv = await svc.calls.by_call_sid(sid)
        called_back = conv is None and (conv := await svc.calls.by_callback_sid(sid)) is not None
        expected = "assigned" if called_back else "arriving"
        if conv is None or conv.id != cid or conv.state != expected or not await self._claim(cid, called_back):
            log.warning("media stream refused: not a call we are expecting", extra={"conversation_id": cid})
            return None

        async def send(msg: dict[str, Any]) -> None:
            await ws.send_text(json.dumps(msg, separators=(",", ":")))

        config = self.ice.for_node(svc.settings.node_id, time.time())
        leg = TwilioLeg(cid, config, str(start.get("streamSid", "")), send)
        leg.hang_up = ws.close  # closing the stream ends <Connect>; with no TwiML after it, the call ends
        leg.called_back = called_back
        if called_back:
            leg.state = "connected"  # no hold audio: the adviser is there, their audio starts soon
        else:
            leg.callable = await svc.calls.callable_number(cid) is not None
        try:
            await self._hold(leg)
            leg.start()
            if called_back:  # the adviser is waiting: answer the offer their console already sent
                await self.callbacks.answered(leg, self._answer)
                return leg
            await svc.conversations.enqueue(await svc.store.conversation(cid))
            await svc.conversations.dispatch(cid)
        except Exception:
            await self.finish(leg)
            raise
        self.tasks.spawn(self._announce(leg))
        return leg

    async def _claim(self, conversation_id: str, called_back: bool) -> bool:
        """Take a call's one media stream: a replayed or second ``start`` for it is refused, on any node."""
        if conversation_id in self.legs:
            return False
        if not called_back:
            return bool(await self.svc.calls.start(conversation_id))  # arriving -> queued, once
        key = self.svc.keys.call_stream(conversation_id)
        return bool(await self.svc.redis.set(key, self.svc.settings.node_id, nx=True, ex=6 * 3600))

    async def web_call(self, sdp: str) -> tuple[WebLeg, str]:
        """A browser call from the chat page: answer the caller's WebRTC offer, before anything is recorded;
        (the leg, the answer's SDP). ValueError for an offer it cannot use."""
        leg = WebLeg("", self.ice.for_node(self.svc.settings.node_id, time.time()))
        try:
            answer = await leg.answer_caller(sdp)
        except Exception as e:  # aiortc raises several kinds for an SDP it cannot use
            await leg.close()
            raise ValueError(f"not an SDP offer we can answer: {e}") from None
        return leg, answer

    async def hold_web_call(self, leg: WebLeg, conversation_id: str) -> None:
        """The web call is recorded as ``conversation_id``: hold it, and tell the caller their place."""
        leg.conversation_id = conversation_id
        leg.hang_up = lambda: self.finish(leg)
        await self._hold(leg)
        self.tasks.spawn(self._announce(leg))

    async def _hold(self, leg: CallLeg) -> None:
        """Hold the leg on this node, listening for what the adviser and the conversation do."""

        def handle(frame: dict[str, Any]) -> None:
            self.tasks.spawn(self._in_order(leg, frame))

        self.legs[leg.conversation_id] = leg
        self.handlers[leg.conversation_id] = handle
        await self.svc.hub.subscribe(self.svc.keys.to_citizen(leg.conversation_id), handle)

    async def _in_order(self, leg: CallLeg, frame: dict[str, Any]) -> None:
        """One frame at a time per call, in the order they came (asyncio's lock is first come, first served),
        so that a transfer cannot overtake an answer still being negotiated."""
        async with leg.lock:
            if leg.state != "ended":
                await self.signal(leg, frame)

    async def _announce(self, leg: CallLeg) -> None:
        """While the caller waits: their place in the queue and the expected wait, now and every so often."""
        await asyncio.sleep(self.first_announcement_s)
        told = False
        while leg.state == "queued":
            live = await self.svc.router_store.conversation(leg.conversation_id)
            position = await self.svc.router_store.position(live.queue, live.id) if live else None
            if live is not None and position is not None:
                wait_s = (await self.svc.conversations.estimator(live.queue))(position)
                offer_callback = isinstance(leg, TwilioLeg) and leg.callable
                names = prompts.announcement(live.language, position, wait_s, offer_callback)
                if self.svc.conversations.recording_days.get(live.queue) and not told:
                    names, told = ["recording_notice", *names], True  # once, before anything else
                leg.announce(b"".join(prompts.load(live.language, name) for name in names))
            await asyncio.sleep(self.announce_every_s)

    async def signal(self, leg: CallLeg, frame: dict[str, Any]) -> None:
        """A frame for the caller's side: the adviser's signalling, or what the conversation did."""
        kind, agent = frame.get("type"), str(frame.get("agent_id", ""))
        if kind == "rtc.offer":
            await self._answer(leg, agent, str(frame.get("sdp", "")))
        elif kind in ("call.hold", "call.resume"):
            leg.hold(kind == "call.hold")
            await self._tell(agent, {"type": "call.state", "conversation_id": leg.conversation_id, "state": leg.state})
        elif kind in ("call.record.pause", "call.record.resume") and leg.recorder is not None:
            leg.recorder.paused = kind == "call.record.pause"
            state = "paused" if leg.recorder.paused else "recording"
            await self._tell(agent, {"type": "call.recording", "conversation_id": leg.conversation_id, "state": state})
        elif kind in ("monitor.offer", "monitor.mode", "monitor.stop"):
            await self._supervise(leg, frame)
        elif kind == "chat.transferred":
            await leg.back_to_queue()
        elif kind == "chat.ended" and frame.get("by") == "agent":
            leg.state = "ended"
            await leg.hang_up()

    async def _supervise(self, leg: CallLeg, frame: dict[str, Any]) -> None:
        """A supervisor's signalling from the queue board: join the call, change mode, or leave it. The
        adviser is told whenever a supervisor starts or stops speaking to them (not while one only listens)."""
        kind, cid = frame["type"], leg.conversation_id
        supervisor, name, mode = str(frame.get("supervisor_id", "")), str(frame.get("name", "")), frame.get("mode")
        current = leg.supervision
        mine = current is not None and current.supervisor_id == supervisor
        before = current.mode if current is not None and mine else "listen"
        if kind == "monitor.offer":
            if not await self._join(leg, supervisor, name, str(mode), str(frame.get("sdp", ""))):
                return
        elif current is None or not mine:
            return  # not (or no longer) this supervisor's: someone else took over, or the call moved on
        elif kind == "monitor.mode":
            current.set_mode(str(mode))
            await self._tell_board(supervisor, {"type": "monitor.mode", "conversation_id": cid, "mode": mode})
        else:
            await leg.unsupervise()
            mode = "listen"
        if mode != before:
            frame = {"type": "call.supervisor", "conversation_id": cid, "mode": mode, "name": name}
            await self._tell(leg.agent_id, frame)

    async def _join(self, leg: CallLeg, supervisor: str, name: str, mode: str, sdp: str) -> bool:
        cid = leg.conversation_id
        if leg.state not in ("connected", "held"):
            message = "That call has no adviser on it now."
        else:
            supervision = Supervision(supervisor, name, mode, self.ice.for_node(self.svc.settings.node_id, time.time()))
            try:
                answer = await leg.supervise(supervision, sdp)
            except Exception as e:  # aiortc raises several kinds for an SDP it cannot use
                await supervision.close()
                log.info("supervisor's SDP refused: %s", e, extra={"conversation_id": cid})
                message = "That is not an SDP offer with audio."
            else:
                reply = {"type": "monitor.rtc.answer", "conversation_id": cid, "sdp": answer, "mode": mode}
                await self._tell_board(supervisor, reply)
                return True
        await self._tell_board(
            supervisor, {"type": "error", "code": "bad_value", "message": message, "conversation_id": cid}
        )
        return False

    async def _tell_board(self, supervisor_id: str, frame: dict[str, Any]) -> None:
        await self.svc.hub.publish(self.svc.keys.to_board(supervisor_id), frame)

    async def _answer(self, leg: CallLeg, agent_id: str, sdp: str) -> None:
        cid = leg.conversation_id
        try:
            answer = await leg.answer(agent_id, sdp)
        except Exception as e:  # aiortc raises ValueError and others for an SDP it cannot use
            log.info("adviser's SDP refused: %s", e, extra={"conversation_id": cid})
            await self._tell(
                agent_id, {"type": "error", "code": "bad_value", "message": "That is not an SDP offer with audio."}
            )
            return
        await self._tell(agent_id, {"type": "rtc.answer", "conversation_id": cid, "sdp": answer})
        await self._tell(agent_id, {"type": "call.state", "conversation_id": cid, "state": "connected"})
        await self._record(leg, agent_id)

    async def _record(self, leg: CallLeg, agent_id: str) -> None:
        """Record the call from now, if its queue records calls (once per call; a transfer goes on in the same file)."""
        svc, cid = self.svc, leg.conversation_id
        live = await svc.router_store.conversation(cid)
        if leg.recorder is not None or live is None or not svc.conversations.recording_days.get(live.queue):
            return
        path = recording_path(svc.settings.data_dir, svc.settings.tenant, live.queue, cid, time.time())
        leg.recorder = Recorder(path)
        await svc.calls.recorded(cid, str(path.relative_to(svc.settings.data_dir)))
        await self._tell(agent_id, {"type": "call.recording", "conversation_id": cid, "state": "recording"})

    async def _tell(self, agent_id: str, frame: dict[str, Any]) -> None:
        if agent_id:
            await self.svc.conversations.to_agent(agent_id, frame)

    async def dtmf(self, leg: CallLeg, digit: str) -> None:
        if digit == "1" and leg.state == "queued" and isinstance(leg, TwilioLeg) and leg.callable:
            await self.callbacks.request(leg)
            return
        live = await self.svc.router_store.conversation(leg.conversation_id)
        if live is not None and live.state == "assigned" and digit in "0123456789*#" and len(digit) == 1:
            await self._tell(
                live.agent_id, {"type": "call.dtmf", "conversation_id": leg.conversation_id, "digit": digit}
            )

    async def finish(self, leg: CallLeg) -> None:
        """The stream ended: a caller who hung up has left (abandoned while waiting, ended while talking)."""
        svc, cid = self.svc, leg.conversation_id
        by_agent = leg.state in ("ended", "callback")  # a caller waiting for a call back has not left
        if self.legs.get(cid) is not leg:
            await leg.close()  # not (or no longer) the call's registered leg: nothing else to undo
            return
        del self.legs[cid]
        await self.release(leg)
        await leg.close()
        if not by_agent:
            await svc.conversations.citizen_left(cid)
            live = await svc.router_store.conversation(cid)
            if live is not None and live.agent_id:
                await self._tell(
                    live.agent_id, {"type": "call.state", "conversation_id": cid, "state": "ended", "by": "citizen"}
                )

    async def release(self, leg: CallLeg) -> None:
        """Stop listening for the call's frames (it is ending, or leaving to be called back)."""
        handler = self.handlers.pop(leg.conversation_id, None)
        if handler is not None:
            await self.svc.hub.unsubscribe(self.svc.keys.to_citizen(leg.conversation_id), handler)

    async def stop(self) -> None:
        for leg in list(self.legs.values()):
            await leg.close()
        await self.tasks.stop()


async def media_socket(ws: WebSocket) -> None:
    """Twilio's media stream for one call."""
    svc = ws.app.state.services
    url = signature.signed_url(svc.settings.public_url, "/twilio/media", websocket=True)
    if not signature.valid(svc.settings.twilio_auth_token, url, {}, ws.headers.get(signature.HEADER)):
        await ws.close(code=1008)  # before accepting: the upgrade is refused with HTTP 403
        return
    await ws.accept()
    lines: Lines = svc.lines
    leg: TwilioLeg | None = None
    try:
        while True:
            msg = json.loads(await ws.receive_text())
            event = msg.get("event")
            if event == "start" and leg is None:
                leg = await lines.start(ws, msg.get("start") or {})
                if leg is None:
                    await ws.close(code=1008, reason="unknown call")
                    return
            elif event == "media" and isinstance(leg, TwilioLeg):
                leg.citizen_audio(str((msg.get("media") or {}).get("payload", "")))
            elif event == "dtmf" and leg is not None:
                await lines.dtmf(leg, str((msg.get("dtmf") or {}).get("digit", "")))
            elif event == "stop":
                break
    except (WebSocketDisconnect, RuntimeError, ValueError, KeyError):
        pass  # the stream closed (by Twilio, or by us when the adviser hung up), or sent what is not JSON
    finally:
        if leg is not None:
            await lines.finish(leg)
