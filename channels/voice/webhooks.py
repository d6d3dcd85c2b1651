"""``POST /twilio/voice`` (the phone menu) and ``POST /twilio/voice/status`` (how the call ended).

The menu is one path in three steps (``?step=``): the greeting and language, then the topic, then
the hand-over to the media stream. Every request is checked against Twilio's signature first.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from channels.voice import signature, twiml

log = logging.getLogger("channels.voice")
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
ENDED = ("completed", "busy", "failed", "no-answer", "canceled")


def _svc(request: Request) -> Any:
    return request.app.state.services


def _xml(body: str) -> Response:
    return Response(body, media_type="application/xml")


async def voice(request: Request) -> Response:
    """Twilio's incoming-call webhook and the menu's steps: TwiML for what the caller hears next."""
    form = await signature.signed_form(request, _svc(request).settings)
    if form is None:
        return signature.FORBIDDEN
    call_sid = form.get("CallSid", "")
    if not CALL_SID.fullmatch(call_sid):
        return Response("A CallSid is required.", status_code=400)
    svc, step = _svc(request), request.query_params.get("step", "")
    action = signature.signed_url(svc.settings.public_url, "/twilio/voice")
    if step == "":
        await svc.calls.ring(call_sid, form.get("From", "unknown caller")[:80], form.get("To", "")[:40])
        return _xml(twiml.welcome(f"{action}?step=language"))
    if step == "when_open":
        return _xml(await _when_open(svc, call_sid, form.get("Digits", "")))
    if step == "callback":
        return _xml(await _calling_back(svc, call_sid, request.query_params.get("conversation", "")))
    if step == "language":
        language = "cy" if form.get("Digits") == "2" else "en"
        await svc.calls.choose(call_sid, language=language)
        names = [q["display_name_cy" if language == "cy" else "display_name"] for q in await svc.store.queues()]
        return _xml(twiml.topics(f"{action}?step=topic", language, names))
    return _xml(await _chosen(svc, call_sid, form.get("Digits", "")))


async def _chosen(svc: Any, call_sid: str, digits: str) -> str:
    """The caller chose a topic (none: general): connect them to its queue, or say it is closed."""
    queues = [q["name"] for q in await svc.store.queues()]
    queue = queues[int(digits) - 1] if digits.isdigit() and 0 < int(digits) <= len(queues) else "general"
    await svc.calls.choose(call_sid, queue=queue)
    conv = await svc.calls.by_call_sid(call_sid)
    if conv is None or conv.state != "arriving":
        return twiml.sorry(conv.language if conv else "en")
    opens_at = svc.conversations.opens_at(conv.queue)
    if opens_at is not None:
        frame = await svc.conversations.close_outside_hours(conv, opens_at)  # recorded, and said in their language
        action = signature.signed_url(svc.settings.public_url, "/twilio/voice") + "?step=when_open"
        callable_ = frame["opens_at"] and await svc.calls.callable_number(conv.id) is not None
        return twiml.closed(frame["message"], conv.language, action if callable_ else "")
    stream = signature.signed_url(svc.settings.public_url, "/twilio/media", websocket=True)
    return twiml.connect(stream, conv.id, conv.language)


async def _when_open(svc: Any, call_sid: str, digits: str) -> str:
    """A caller told the line is closed pressed a key: 1 asks to be called back when it opens."""
    conv = await svc.calls.by_call_sid(call_sid)
    if conv is None or conv.state != "closed" or digits != "1":
        return twiml.sorry(conv.language if conv else "en")
    opens_at = svc.conversations.opens_at(conv.queue)
    if opens_at is None or opens_at.year == 9999 or await svc.calls.callback_when_open(call_sid, opens_at) is None:
        return twiml.sorry(conv.language)
    return twiml.will_call(conv.language)


async def _calling_back(svc: Any, call_sid: str, conversation_id: str) -> str:
    """A caller answered the call back we placed: hand its audio to the media stream."""
    conv = await svc.calls.by_callback_sid(call_sid)
    if conv is None or conv.id != conversation_id or conv.state != "assigned":
        return twiml.sorry("en")
    stream = signature.signed_url(svc.settings.public_url, "/twilio/media", websocket=True)
    return twiml.calling_back(stream, conv.id, conv.language)


async def status(request: Request) -> Response:
    """Twilio's call status callback: a caller who hangs up while waiting has abandoned; one who hangs
    up while talking has ended the conversation (the adviser moves to wrap-up)."""
    form = await signature.signed_form(request, _svc(request).settings)
    if form is None:
        return signature.FORBIDDEN
    svc, call_sid = _svc(request), form.get("CallSid", "")
    if form.get("CallStatus") not in ENDED or not CALL_SID.fullmatch(call_sid):
        return Response(status_code=204)
    if await svc.calls.hung_up_in_menu(call_sid):
        log.info("caller hung up in the menu", extra={"call_sid": call_sid})
        return Response(status_code=204)
    conv = await svc.calls.by_call_sid(call_sid)
    if conv is not None and await svc.calls.callback(conv.id) is not None:
        return Response(status_code=204)  # they hung up to be called back: they keep their place
    conv = conv or await svc.calls.by_callback_sid(call_sid)
    if conv is not None and conv.state in ("queued", "offered", "assigned"):
        await svc.conversations.citizen_left(conv.id)  # an unanswered call back ends like a caller who left
    return Response(status_code=204)
