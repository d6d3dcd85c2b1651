"""Bad input gets a clear error and changes nothing; only abuse closes a socket (CONTRACT: Errors)."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest
import websockets

from tests.conftest import LiveServer
from tests.helpers import UNIT, Client, typed


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{oops", "invalid_json"),
        ('{"type": "agent.dance"}', "unknown_type"),
        ('{"type": "offer.accept"}', "missing_field"),
        ('{"type": "agent.status", "status": 1}', "wrong_type"),
        ('{"type": "agent.status", "status": "asleep"}', "bad_value"),
    ],
)
async def test_bad_agent_frames_get_an_error_and_the_socket_stays_usable(
    server: LiveServer, frame: str, code: str
) -> None:
    agent = await server.agent("agent1", status=None)
    await agent.send(frame)
    error = await agent.expect(typed("error"))
    assert error["code"] == code and error["message"]
    await agent.send({"type": "agent.status", "status": "available"})
    await agent.expect(typed("agent.state", status="available"))


async def test_a_message_for_a_conversation_that_is_not_yours_is_refused(server: LiveServer, db: asyncpg.Pool) -> None:
    owner = await server.agent("agent1")
    citizen, queued = await server.citizen()
    cid = queued["conversation_id"]
    await owner.expect(typed("offer", conversation_id=cid))
    await owner.send({"type": "offer.accept", "conversation_id": cid})
    await owner.expect(typed("conversation.assigned"))
    other = await server.agent("agent2", status=None)
    await other.send({"type": "message", "conversation_id": cid, "id": "x1", "text": "let me in"})
    assert (await other.expect(typed("error")))["code"] == "not_yours"
    await other.send({"type": "conversation.end", "conversation_id": cid})
    assert (await other.expect(typed("error")))["code"] == "not_yours"
    await other.send({"type": "offer.accept", "conversation_id": cid})
    assert (await other.expect(typed("error")))["code"] == "conflict"
    await other.send({"type": "message", "conversation_id": "not-a-uuid", "id": "x2", "text": "hi"})
    assert (await other.expect(typed("error")))["code"] == "not_yours"
    assert await citizen.maybe(typed("message"), timeout=0.5) is None
    assert await citizen.maybe(typed("chat.ended"), timeout=0.1) is None
    assert await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(cid)) == 0


async def test_wrapup_needs_a_known_disposition(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    _, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.expect(typed("offer"))
    await agent.send({"type": "offer.accept", "conversation_id": cid})
    await agent.expect(typed("conversation.assigned"))
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.expect(typed("conversation.ended"))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "whatever"})
    assert (await agent.expect(typed("error")))["code"] == "conflict"
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "wrapup"


async def test_a_frame_over_64_kib_closes_the_socket_with_1009(
    server: LiveServer, db: asyncpg.Pool, tenant: str
) -> None:
    client = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await client.send(json.dumps({"type": "chat.start", "queue": "general", "name": "x" * 70_000}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await client.ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", tenant) == 0


async def test_flooding_closes_the_socket_with_1008_and_a_reason(server: LiveServer) -> None:
    client = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    with pytest.raises(websockets.ConnectionClosed):
        for _ in range(500):
            await client.send({"type": "ping"})
        await client.maybe(lambda f: False, timeout=2)
        await client.ws.recv()
    assert client.ws.close_code == 1008 and client.ws.close_reason == "too many frames"
    # The flood cost the flooder only: the server still serves others.
    _, queued = await server.citizen()
    assert queued["position"] == 1


async def test_a_binary_frame_is_answered_not_crashed(server: LiveServer) -> None:
    client = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await client.send(b"\x00\x01binary")
    assert (await client.expect(typed("error")))["code"] == "invalid_json"
    await client.send({"type": "ping"})
    assert await client.expect(typed("pong"), timeout=2 * UNIT)
