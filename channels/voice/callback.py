"""Calling a caller back instead of keeping them on hold.

A waiting caller presses 1: they hear that they will be called back, the line clears, and the call
keeps its place in the queue. When an adviser accepts it, the call is placed through Twilio's REST
API; when the caller answers, Twilio's media stream reaches us like an incoming call, and the
adviser's WebRTC offer (sent when they accepted, kept until then) is answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from channels.voice import prompts
from channels.voice.dialer import Dialer
from channels.voice.leg import CallLeg, TwilioLeg
from contactd.errors import Conflict, Unavailable
from contactd.records import Conversation

log = logging.getLogger("channels.voice")
PENDING_S = 120  # how long an adviser's offer waits for the caller to answer the call back

Answer = Callable[[CallLeg, str, str], Awaitable[None]]


class Callbacks:
    """Calls back, for the calls a node holds (``Lines``)."""

    def __init__(self, lines: Any) -> None:
        self.lines = lines

    @property
    def svc(self) -> Any:
        return self.lines.svc

    async def request(self, leg: TwilioLeg) -> None:
        """The waiting caller pressed 1: keep their place, tell them, and clear the line."""
        svc, cid = self.svc, leg.conversation_id
        live = await svc.router_store.conversation(cid)
        if live is None or live.state != "queued":
            return  # an adviser is being offered the call: they are about to answer
        leg.state = "callback"  # from now no adviser may join this leg
        number = await svc.calls.request_callback(cid)
        if number is None:
            leg.state = "queued"
            return  # an offer came meanwhile, or no number we may call
        await svc.store.event("callback.requested", conversation_id=cid, data={"number_ends": number[-4:]})
        log.info("caller asked to be called back", extra={"conversation_id": cid})
        await self.lines.release(leg)  # the adviser's signalling now waits for the call back
        confirm = prompts.load(live.language, "callback_confirm")
        leg.announce(confirm)
        await asyncio.sleep(len(confirm) / 8000 + 0.3)
        await leg.hang_up()

    async def due(self) -> int:
        """Queue the calls back asked for while the line was closed, once it has opened; how many."""
        svc, queued = self.svc, 0
        for cid in await svc.calls.callbacks_due():
            if await svc.calls.start(cid):
                await svc.conversations.enqueue(await svc.store.conversation(cid))
                await svc.conversations.dispatch(cid)
                queued += 1
        return queued

    async def accepted(self, conv: Conversation) -> None:
        """An adviser took a call: if it is a call back not yet placed, place it now."""
        svc = self.svc
        callback = await svc.calls.callback(conv.id)
        if callback is None or callback.sid is not None or conv.agent_id is None:
            return
        agent = str(conv.agent_id)
        s = svc.settings
        dialer = Dialer(s.twilio_api_url, s.twilio_account_sid, s.twilio_auth_token, s.public_url)
        try:
            sid = await dialer.call_back(conv.id, callback.number, callback.called or s.twilio_number)
        except Unavailable as e:
            # Never lost: the call back goes back to its place in the queue, for the next adviser to try.
            log.warning("call back not placed: %s", e, extra={"conversation_id": conv.id})
            message = f"{e} It is back in the queue."
            await svc.conversations.to_agent(agent, {"type": "error", "code": "unavailable", "message": message})
            user = await svc.staff.user_by_id(conv.agent_id)
            if user is not None:
                await svc.conversations.transfer(user, conv.id, None, None, "the call back could not be placed")
            return
        await svc.calls.placed(conv.id, sid)
        await svc.conversations.to_agent(agent, {"type": "call.state", "conversation_id": conv.id, "state": "dialling"})

    async def from_chat(self, conversation_id: str, number: str) -> None:
        """A web-chat citizen waiting in a queue asks to be called back on ``number`` instead: the chat
        becomes a call back with the same place in the queue (Conflict once an adviser is answering it)."""
        svc = self.svc
        live = await svc.router_store.conversation(conversation_id)
        if live is None or live.channel != "chat":
            raise Conflict("This chat is no longer waiting.")
        if await svc.router_store.rechannel(conversation_id, "voice") != "OK":
            raise Conflict("An adviser is already answering your chat, so we cannot call you back instead.")
        if not await svc.calls.chat_to_callback(conversation_id, number):
            await svc.router_store.rechannel(conversation_id, "chat")  # put it back as it was
            raise Conflict("This chat is no longer waiting.")
        log.info("chat citizen asked to be called back", extra={"conversation_id": conversation_id})
        await svc.conversations.dispatch(conversation_id)

    async def park(self, conversation_id: str, agent_id: str, sdp: str) -> bool:
        """Keep an adviser's offer for a call back still ringing; False if this is no such call."""
        callback = await self.svc.calls.callback(conversation_id)
        if callback is None or callback.sid is None:
            return False
        value = json.dumps({"agent_id": agent_id, "sdp": sdp})
        await self.svc.redis.set(self.svc.keys.pending_offer(conversation_id), value, ex=PENDING_S)
        return True

    async def answered(self, leg: CallLeg, answer: Answer) -> None:
        """The caller answered the call back: answer the adviser's offer, if it is waiting."""
        raw = await self.svc.redis.getdel(self.svc.keys.pending_offer(leg.conversation_id))
        if raw:
            offer = json.loads(raw)
            await answer(leg, str(offer["agent_id"]), str(offer["sdp"]))
