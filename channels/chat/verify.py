"""A chat citizen proves their mobile number with a code we text them; their chat then joins the record
that number leads to, so the adviser sees their calls and texts too (one citizen, one timeline).

Only UK mobiles, at most ``MAX_SENDS`` codes a chat and a number an hour (a code text costs money and
could be turned on a stranger's phone), ``MAX_TRIES`` guesses a code, each code good for ``TTL_S``.
The code is kept only as a hash, in Redis, beside the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from channels.frames import FrameError
from channels.sms.sender import send_text
from channels.voice.numbers import uk_number
from contactd.errors import Unavailable

log = logging.getLogger("channels.chat")
TTL_S = 600
MAX_SENDS = 3
MAX_TRIES = 5
MAX_PER_ADDRESS = 5
"""Codes texted for one client IP address in an hour."""
MAX_PER_HOUR = 200
"""Codes texted for the whole department in an hour: a script opening chat after chat cannot run up a bill."""


def masked(number: str) -> str:
    """A number as we show it back: only its last three digits."""
    return "•" * (len(number) - 4) + number[-3:]


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def code_hash(conversation_id: str, code: str) -> str:
    return hashlib.sha256(f"{conversation_id}:{code}".encode()).hexdigest()


async def start(svc: Any, conversation_id: str, given: str, language: str, address: str) -> dict[str, Any]:
    """Text a fresh code to the number the citizen gave (from client ``address``); the frame that says it went."""
    number = uk_number(given)
    if number is None or not number.startswith("+447"):
        raise FrameError("bad_value", "Give a UK mobile number (07…) for us to text a code to.")
    key = svc.keys.verify(conversation_id)
    hour = int(time.time() // 3600)
    limits = [
        (svc.keys.verify_sends(f"number:{_hashed(number)}:{hour}"), MAX_SENDS),
        (svc.keys.verify_sends(f"address:{_hashed(address)}:{hour}"), MAX_PER_ADDRESS),
        (svc.keys.verify_sends(f"all:{hour}"), MAX_PER_HOUR),
    ]
    async with svc.redis.pipeline(transaction=True) as pipe:
        pipe.hincrby(key, "sends", 1).expire(key, TTL_S)
        for counter, _ in limits:
            pipe.incr(counter).expire(counter, 3600)
        counts = (await pipe.execute())[::2]
    if int(counts[0]) > MAX_SENDS or any(int(n) > most for n, (_, most) in zip(counts[1:], limits, strict=True)):
        raise FrameError("too_many", "We have sent as many codes as we can for now; please try again later.")
    code = f"{secrets.randbelow(10**6):06d}"
    await svc.redis.hset(key, mapping={"phone": number, "code": code_hash(conversation_id, code), "tries": 0})
    s = svc.settings
    text = (
        f"Eich cod yw {code}. Mae'n dod i ben mewn 10 munud."
        if language == "cy"
        else f"Your code is {code}. It expires in 10 minutes. If you did not ask for it, ignore this text."
    )
    try:
        await send_text(
            s.twilio_api_url,
            s.twilio_account_sid,
            s.twilio_auth_token,
            to=number,
            from_=s.twilio_number,
            body=text,
            status_url=f"{s.public_url}/twilio/sms/status",
        )
    except Unavailable as e:
        log.warning("verification code not sent: %s", e)
        raise FrameError("unavailable", "We could not text that number just now; please try again later.") from None
    return {"type": "verify.sent", "to": masked(number)}


async def check(svc: Any, conversation_id: str, code: str) -> dict[str, Any]:
    """Check the code; once right, link the number to this chat's citizen. The frame that says so."""
    key = svc.keys.verify(conversation_id)
    held = await svc.redis.hgetall(key)
    if not held or b"code" not in held:
        raise FrameError("expired", "That code has expired, or none was sent; ask for a new one.")
    async with svc.redis.pipeline(transaction=True) as pipe:
        tries, _ = await pipe.hincrby(key, "tries", 1).expire(key, TTL_S).execute()
    if int(tries) > MAX_TRIES:
        await svc.redis.delete(key)
        raise FrameError("too_many", "Too many wrong codes; ask for a new one.")
    if not hmac.compare_digest(held[b"code"].decode(), code_hash(conversation_id, code.strip())):
        raise FrameError("wrong_code", f"That code is not right; {MAX_TRIES - int(tries)} tries left.")
    await svc.redis.delete(key)
    number = held[b"phone"].decode()
    citizen = await svc.citizen_records.link(conversation_id, "phone", number)
    await svc.store.event("citizen.verified", conversation_id=conversation_id, data={"kind": "phone"})
    await svc.conversations.timeline_changed(citizen)
    return {"type": "verify.done", "phone": masked(number)}
