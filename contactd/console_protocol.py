"""The agent console protocol on ``/ws/agent`` (CONTRACT.md; docs/protocol.md has every field)."""

from __future__ import annotations

from channels.chat.protocol import MAX_TEXT
from channels.frames import Field, Schema

CONVERSATION = Field(str, max_len=64, min_len=1)
SDP = Field(str, max_len=20_000, min_len=10)

AGENT_FRAMES: dict[str, Schema] = {
    "agent.status": {
        "status": Field(str, choices=("available", "away", "offline")),
        "reason": Field(str, required=False, max_len=80),
    },
    "offer.accept": {"conversation_id": CONVERSATION},
    "offer.reject": {"conversation_id": CONVERSATION},
    "message": {
        "conversation_id": CONVERSATION,
        "id": Field(str, max_len=64, min_len=1),
        "text": Field(str, max_len=MAX_TEXT, min_len=1),
        "subject": Field(str, required=False, max_len=200),
    },
    "transfer": {
        "conversation_id": CONVERSATION,
        "queue": Field(str, required=False, max_len=40, min_len=1),
        "agent_id": Field(int, required=False),
        "reason": Field(str, required=False, max_len=500),
    },
    "conversation.end": {"conversation_id": CONVERSATION},
    "wrapup.done": {
        "conversation_id": CONVERSATION,
        "disposition": Field(str, max_len=40, min_len=1),
        "notes": Field(str, required=False, max_len=2000),
    },
    "rtc.offer": {"conversation_id": CONVERSATION, "sdp": SDP},
    "call.hold": {"conversation_id": CONVERSATION},
    "call.resume": {"conversation_id": CONVERSATION},
    "call.hangup": {"conversation_id": CONVERSATION},
    "call.record.pause": {"conversation_id": CONVERSATION},
    "call.record.resume": {"conversation_id": CONVERSATION},
    "ping": {},
}

DISPOSITIONS = ("resolved", "follow-up", "referred", "no-action")
