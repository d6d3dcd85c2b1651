"""``POST /twilio/sms`` (a citizen's text) and ``POST /twilio/sms/status`` (how far our text got), and
sending an adviser's reply. Every webhook is checked against Twilio's signature first.

A text starts a conversation for the number (queue ``general``: texts choose no topic) or continues
the one still open; a webhook Twilio sends twice is stored once (MessageSid). STOP and START are
honoured and recorded: nothing is sent to a number that opted out.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from channels.sms.sender import send_text
from channels.sms.texts import further, keyword
from channels.voice import signature
from contactd.errors import Unavailable
from contactd.records import Conversation
from contactd.staff import User

log = logging.getLogger("channels.sms")
MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")
NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
OPTED = {
    "stop": "The citizen texted STOP: they get no more texts until they text START.",
    "start": "The citizen texted START: texts to them are sent again.",
}


def _xml(body: str = EMPTY) -> Response:
    return Response(body, media_type="application/xml")


async def sms(request: Request) -> Response:
    """A text from a citizen."""
    svc = request.app.state.services
    form = await signature.signed_form(request, svc.settings)
    if form is None:
        return signature.FORBIDDEN
    sid, number, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")[:1600]
    if not MESSAGE_SID.fullmatch(sid) or not NUMBER.fullmatch(number):
        return Response("A MessageSid and the sender's number are required.", status_code=400)
    citizen, _ = await svc.texts.citizen(number)
    said = keyword(body)
    if said is not None:
        await svc.texts.opt(citizen, said == "stop")
        log.info("citizen texted %s", said.upper())
        await _note_opt(svc, citizen, sid, said)
        return _xml()
    conv = await svc.texts.open_conversation(citizen)
    new = conv is None
    if conv is None:
        conv = await svc.store.create_conversation(
            channel="sms", queue="general", name=number, language="en", citizen_id=citizen
        )
        await svc.texts.called(conv.id, form.get("To", ""), number)
    msg, fresh = await svc.store.add_message(conv.id, "citizen", sid, body)
    if not fresh:
        return _xml()  # Twilio sent this webhook again
    if new:
        await _arrived(svc, conv)
    else:
        live = await svc.router_store.conversation(conv.id)
        if live is not None and live.state == "assigned":
            frame = {"type": "message", **msg.frame(), "conversation_id": conv.id}
            await svc.conversations.to_agent(live.agent_id, frame)
    return _xml()


async def _note_opt(svc: Any, citizen: Any, sid: str, said: str) -> None:
    """Tell the adviser of an open text conversation (in its transcript) that the citizen opted out or in."""
    conv = await svc.texts.open_conversation(citizen)
    if conv is None:
        return
    note = OPTED[said]
    msg, fresh = await svc.store.add_message(conv.id, "system", sid, note)
    live = await svc.router_store.conversation(conv.id)
    if fresh and live is not None and live.state == "assigned":
        await svc.conversations.to_agent(live.agent_id, {"type": "message", **msg.frame(), "conversation_id": conv.id})


async def _arrived(svc: Any, conv: Conversation) -> None:
    """A new text conversation: queued, or answered closed outside opening hours (the text is kept)."""
    opens_at = svc.conversations.opens_at(conv.queue)
    if opens_at is None:
        await svc.conversations.enqueue(conv)
        await svc.conversations.dispatch(conv.id)
        return
    frame = await svc.conversations.close_outside_hours(conv, opens_at)
    await deliver(svc, conv.id, "closed", frame["message"])


async def status(request: Request) -> Response:
    """How far one of our texts got; a late callback never takes it backwards."""
    svc = request.app.state.services
    form = await signature.signed_form(request, svc.settings)
    if form is None:
        return signature.FORBIDDEN
    msg = await svc.texts.message_by_sid(form.get("MessageSid", ""))
    new = form.get("MessageStatus", "")
    if msg is not None and further(msg["delivery"], new):
        await svc.texts.sent(msg["conversation_id"], msg["client_id"], None, new)
        if msg["agent_id"] is not None:
            await _tell(svc, msg["agent_id"], msg["conversation_id"], msg["client_id"], new)
    return Response(status_code=204)


async def deliver(svc: Any, conversation_id: str, client_id: str, body: str) -> str:
    """Send a stored message of ours as a text; how far it got: queued, opted_out or failed."""
    to = await svc.texts.recipient(conversation_id)
    if not to or to.get("sms_opted_out"):
        delivery, sid = "opted_out", None
    else:
        s = svc.settings
        try:
            sid = await send_text(
                s.twilio_api_url,
                s.twilio_account_sid,
                s.twilio_auth_token,
                to=to["phone"],
                from_=to.get("called_number") or s.twilio_number,
                body=body,
                status_url=f"{s.public_url}/twilio/sms/status",
            )
            delivery = "queued"
        except Unavailable as e:
            log.warning("text not sent: %s", e, extra={"conversation_id": conversation_id})
            delivery, sid = "failed", None
    await svc.texts.sent(conversation_id, client_id, sid, delivery)
    return delivery


async def agent_reply(svc: Any, user: User, conversation_id: str, client_id: str, body: str) -> None:
    """An adviser's reply in a text conversation goes out as a text; the console hears how far it got."""
    delivery = await deliver(svc, conversation_id, client_id, body)
    await _tell(svc, user.id, conversation_id, client_id, delivery)


async def _tell(svc: Any, agent_id: int | str, conversation_id: str, client_id: str, delivery: str) -> None:
    frame = {"type": "message.status", "conversation_id": conversation_id, "id": client_id, "status": delivery}
    await svc.conversations.to_agent(agent_id, frame)
