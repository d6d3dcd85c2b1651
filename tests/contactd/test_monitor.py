"""A supervisor reads a live chat from the queue board, the citizen unaware; who may, and what bad
requests get."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import LiveServer
from tests.helpers import Client, login, typed


async def test_a_supervisor_reads_a_live_chat_as_it_happens_and_the_citizen_sees_nothing(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    await agent.take(cid)
    await citizen.send({"type": "message", "id": "c1", "text": "My council tax bill is wrong"})
    await agent.expect(typed("message", conversation_id=cid))

    sup = await server.board()
    await sup.send({"type": "monitor.start", "conversation_id": cid})
    started = await sup.expect(typed("monitor.started", conversation_id=cid))
    assert (started["channel"], started["queue"]) == ("chat", "general")
    assert [(m["from"], m["text"]) for m in started["messages"]] == [("citizen", "My council tax bill is wrong")]

    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Let me look"})
    live = await sup.expect(typed("monitor.message", conversation_id=cid))
    assert (live["message"]["from"], live["message"]["text"]) == ("agent", "Let me look")
    await citizen.send({"type": "message", "id": "c2", "text": "Thank you"})
    live = await sup.expect(typed("monitor.message", conversation_id=cid))
    assert (live["message"]["from"], live["message"]["text"]) == ("citizen", "Thank you")
    assert not any("monitor" in f["type"] for f in citizen.seen)  # the citizen is not told
    await sup.send({"type": "monitor.start", "conversation_id": cid})
    await sup.expect(typed("error", code="conflict"))  # already monitoring it

    await citizen.send({"type": "chat.end"})
    await sup.expect(typed("monitor.ended", conversation_id=cid))
    by = await db.fetchval(
        "SELECT data->>'by' FROM events WHERE type = 'conversation.monitored' AND conversation_id = $1",
        uuid.UUID(cid),
    )
    sam = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = 'supervisor'", server.settings.tenant
    )
    assert by == str(sam)


async def test_only_supervisors_and_admins_may_monitor(server: LiveServer) -> None:
    agent = await server.agent("agent1")
    _, queued = await server.citizen("general")
    cid = queued["conversation_id"]
    await agent.take(cid)
    with pytest.raises(InvalidStatus) as refused:  # an adviser cannot open the board at all
        await Client.connect(server.ws("/ws/board"), await login(server.base, "agent2"), server.base)
    assert refused.value.response.status_code == 403
    await agent.send({"type": "monitor.start", "conversation_id": cid})  # nor monitor from the console
    await agent.expect(typed("error", code="unknown_type"))
    for username in ("supervisor", "admin"):
        sup = await server.board(username)
        await sup.send({"type": "monitor.start", "conversation_id": cid})
        await sup.expect(typed("monitor.started", conversation_id=cid))
        await sup.send({"type": "monitor.stop", "conversation_id": cid})
        await sup.expect(typed("monitor.stopped", conversation_id=cid))


async def test_what_bad_monitor_requests_get(server: LiveServer) -> None:
    sup = await server.board()
    await sup.send({"type": "monitor.start", "conversation_id": str(uuid.uuid4())})
    await sup.expect(typed("error", code="not_found"))
    await sup.send({"type": "monitor.start", "conversation_id": "not-a-uuid"})
    await sup.expect(typed("error", code="not_found"))
    await sup.send({"type": "monitor.start"})
    await sup.expect(typed("error", code="missing_field"))
    citizen, queued = await server.citizen("general")
    await citizen.send({"type": "chat.end"})
    await citizen.expect(typed("chat.ended"))
    await sup.send({"type": "monitor.start", "conversation_id": queued["conversation_id"]})
    await sup.expect(typed("error", code="conflict"))  # it has ended
    _, chat = await server.citizen("general")
    frame = {"type": "monitor.rtc.offer", "conversation_id": chat["conversation_id"], "mode": "shout", "sdp": "v=0" * 5}
    await sup.send(frame)
    await sup.expect(typed("error", code="bad_value"))
    await sup.send({**frame, "mode": "listen"})
    await sup.expect(typed("error", code="conflict"))  # a chat, not a call an adviser has answered
    await sup.send({"type": "ping"})
    await sup.expect(typed("pong"))  # the board carries on
