"""The first whole path: a citizen chats with an agent; everything lands in PostgreSQL."""

from __future__ import annotations

import uuid

import asyncpg

from tests.conftest import LiveServer
from tests.helpers import typed


async def test_citizen_and_agent_chat_end_to_end(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    assert queued["resume_token"] and queued["position"] == 1

    offer = await agent.expect(typed("offer", conversation_id=cid))
    assert offer["channel"] == "chat" and offer["queue"] == "general" and offer["citizen"]["name"] == "Ann"
    assert 0 < offer["expires_in_s"] <= 30
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    assigned = await agent.expect(typed("conversation.assigned", conversation_id=cid))
    assert assigned["channel"] == "chat" and assigned["transcript"] == []
    joined = await citizen.expect(typed("chat.agent_joined"))
    assert joined["agent_name"] == "Alex Morgan"

    await citizen.send({"type": "message", "id": "c1", "text": "Hello, I need help with my claim"})
    echo = await citizen.expect(typed("message", id="c1"))
    assert echo["from"] == "citizen" and echo["at"].endswith("Z")
    got = await agent.expect(typed("message", conversation_id=cid, id="c1"))
    assert got["from"] == "citizen" and got["text"] == "Hello, I need help with my claim"

    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Of course. Your reference?"})
    reply = await citizen.expect(typed("message", id="a1"))
    assert reply["from"] == "agent" and reply["text"] == "Of course. Your reference?"

    await agent.send({"type": "conversation.end", "conversation_id": cid})
    assert (await citizen.expect(typed("chat.ended")))["by"] == "agent"
    await agent.expect(typed("conversation.ended", conversation_id=cid, by="agent"))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved", "notes": "sorted"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))
    state = await agent.expect(lambda f: f.get("type") == "agent.state" and f["load"]["chat"] == 0)
    assert state["status"] == "available"

    row = await db.fetchrow(
        "SELECT state, disposition, notes, ended_by, agent_id FROM conversations WHERE id = $1",
        uuid.UUID(cid),
    )
    assert dict(row) | {"agent_id": None} == {
        "state": "closed",
        "disposition": "resolved",
        "notes": "sorted",
        "ended_by": "agent",
        "agent_id": None,
    }
    bodies = await db.fetch("SELECT sender, body FROM messages WHERE conversation_id = $1 ORDER BY id", uuid.UUID(cid))
    assert [(r["sender"], r["body"]) for r in bodies] == [
        ("citizen", "Hello, I need help with my claim"),
        ("agent", "Of course. Your reference?"),
    ]
    events = [
        r["type"]
        for r in await db.fetch("SELECT type FROM events WHERE conversation_id = $1 ORDER BY id", uuid.UUID(cid))
    ]
    assert events == [
        "conversation.arrived",
        "routing.offered",
        "offer.accepted",
        "conversation.ended",
        "conversation.closed",
    ]
    await citizen.close()
    await agent.close()
