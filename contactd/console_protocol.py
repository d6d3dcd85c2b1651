"""The agent console protocol on ``/ws/agent`` (CONTRACT.md; docs/protocol.md has every field)."""

from __future__ import annotations

from channels.chat.protocol import MAX_TEXT
from channels.frames import Field, Schema

CONVERSATION = Field(str, max_len=64, min_len=1)

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
    "ping": {},
}

DISPOSITIONS = ("resolved", "follow-up", "referred", "no-action")
