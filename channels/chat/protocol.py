"""The citizen chat protocol on ``/ws/chat`` (CONTRACT.md; docs/protocol.md has every field).

Pure: schemas of the frames a citizen may send, and builders of the frames
the citizen receives.
"""

from __future__ import annotations

from typing import Any

from channels.frames import Field, Schema

MAX_TEXT = 4000
LANGUAGES = ("en", "cy")

CITIZEN_FRAMES: dict[str, Schema] = {
    "chat.start": {
        "queue": Field(str, max_len=40, min_len=1),
        "name": Field(str, max_len=80, min_len=1),
        "language": Field(str, required=False, choices=LANGUAGES),
        # Sent only by a citizen who asked this device to be remembered: routing then tries the
        # adviser they chatted with last. Opaque; the server keeps only its hash.
        "citizen_key": Field(str, required=False, min_len=16, max_len=100),
    },
    "message": {
        "id": Field(str, max_len=64, min_len=1),
        "text": Field(str, max_len=MAX_TEXT, min_len=1),
    },
    "chat.end": {},
    # A call from the chat page ("Call us"): the browser's WebRTC offer, gathered (no trickle ICE).
    "call.start": {
        "queue": Field(str, max_len=40, min_len=1),
        "name": Field(str, max_len=80, min_len=1),
        "language": Field(str, required=False, choices=LANGUAGES),
        "citizen_key": Field(str, required=False, min_len=16, max_len=100),
        "sdp": Field(str, max_len=20_000, min_len=10),
    },
    "call.hangup": {},
    # A waiting chat citizen asks to be called back on a UK number instead, keeping their place.
    "callback.request": {"number": Field(str, max_len=30, min_len=3)},
    # A chatting citizen proves their mobile number with a code we text them (channels/chat/verify.py).
    "verify.start": {"phone": Field(str, max_len=30, min_len=3)},
    "verify.check": {"code": Field(str, max_len=12, min_len=1)},
    "chat.resume": {"resume_token": Field(str, max_len=100, min_len=1)},
    "ping": {},
}


def queued(
    conversation_id: str, resume_token: str | None, position: int, estimated_wait_s: int | None
) -> dict[str, Any]:
    """``chat.queued``: sent on start and again whenever the position changes."""
    frame: dict[str, Any] = {
        "type": "chat.queued",
        "conversation_id": conversation_id,
        "position": position,
        "estimated_wait_s": estimated_wait_s,
    }
    if resume_token is not None:
        frame["resume_token"] = resume_token
    return frame


def agent_joined(agent_name: str) -> dict[str, Any]:
    return {"type": "chat.agent_joined", "agent_name": agent_name}


def ended(by: str) -> dict[str, Any]:
    return {"type": "chat.ended", "by": by}
