"""The records the system of record reads back: conversations and messages, with the SQL that reads them
(shared by the stores of each channel)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg


def token_hash(token: str) -> bytes:
    """What the database keeps of a bearer token (cookie or resume token)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Message:
    """One message of a conversation's transcript."""

    client_id: str
    sender: str
    text: str
    at: datetime
    subject: str | None = None
    """An email's subject."""
    status: str | None = None
    """How far an adviser's text or email got (``message.status``)."""
    files: tuple[dict[str, Any], ...] = ()
    """An email's attachments: id, name, type, size."""

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> Message:
        files = tuple(json.loads(r["files"]))
        return cls(r["client_id"], r["sender"], r["body"], r["created_at"], r["subject"], r["delivery"], files)

    def frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {
            "id": self.client_id,
            "from": self.sender,
            "text": self.text,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }
        if self.subject is not None:
            frame["subject"] = self.subject
        if self.status is not None:
            frame["status"] = self.status
        if self.files:
            frame["attachments"] = [{**f, "url": f"/api/attachments/{f['id']}"} for f in self.files]
        return frame


@dataclass(frozen=True)
class Conversation:
    """The fields of a conversation the service acts on."""

    id: str
    channel: str
    queue: str
    state: str
    citizen_name: str
    language: str
    priority: int
    agent_id: int | None
    queued_at: datetime
    reference: str | None = None
    """An email's case reference (``CD-XXXXXX``)."""


def _conversation(row: Mapping[str, Any]) -> Conversation:
    return Conversation(
        str(row["id"]),
        row["channel"],
        row["queue"],
        row["state"],
        row["citizen_name"],
        row["language"],
        row["priority"],
        row["agent_id"],
        row["queued_at"],
        row.get("reference"),
    )


CONVERSATION_SQL = """
SELECT c.id, c.channel, q.name AS queue, c.state, z.display_name AS citizen_name, c.language, c.priority,
       c.agent_id, c.queued_at, c.reference
FROM conversations c JOIN queues q ON q.id = c.queue_id JOIN citizens z ON z.id = c.citizen_id
"""


MESSAGE_SQL = """
SELECT m.client_id, m.sender, m.body, m.created_at, m.subject, m.delivery,
       coalesce((SELECT json_agg(json_build_object('id', a.id, 'name', a.filename, 'type', a.content_type,
                 'size', a.size) ORDER BY a.id) FROM attachments a WHERE a.message_id = m.id), '[]')::text AS files
FROM messages m"""
