"""The web chat channel over a real WebSocket: what a citizen sees, and what is kept."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.conftest import LiveServer
from tests.helpers import UNIT, Client, typed


async def test_conversation_is_committed_before_the_citizen_is_told_queued(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    citizen, queued = await server.citizen("benefits", "Ann", "cy")
    row = await db.fetchrow(
        "SELECT c.state, c.channel, c.language, z.display_name, q.name FROM conversations c"
        " JOIN citizens z ON z.id = c.citizen_id JOIN queues q ON q.id = c.queue_id"
        " WHERE c.id = $1",
        uuid.UUID(queued["conversation_id"]),
    )
    assert dict(row) == {
        "state": "queued",
        "channel": "chat",
        "language": "cy",
        "display_name": "Ann",
        "name": "benefits",
    }
    await citizen.send({"type": "message", "id": "m1", "text": "Is anyone there?"})
    await citizen.expect(typed("message", id="m1"))
    assert (
        await db.fetchval("SELECT body FROM messages WHERE conversation_id = $1", uuid.UUID(queued["conversation_id"]))
        == "Is anyone there?"
    )


async def test_position_and_estimate_are_resent_when_the_queue_moves(server: LiveServer) -> None:
    agent = await server.agent("agent3")  # chat capacity 3: three citizens are offered, the next ones wait
    first = [await server.citizen("general", f"C{i}") for i in range(3)]
    waiting_a, qa = await server.citizen("general", "Dee")
    waiting_b, qb = await server.citizen("general", "Eve")
    assert (qa["position"], qb["position"]) == (1, 2)
    assert qa["estimated_wait_s"] is not None and qb["estimated_wait_s"] >= qa["estimated_wait_s"] > 0

    await waiting_a.send({"type": "chat.end"})
    moved = await waiting_b.expect(typed("chat.queued", position=1), timeout=3)
    assert moved["conversation_id"] == qb["conversation_id"] and moved["estimated_wait_s"] <= qb["estimated_wait_s"]
    for c, _ in first:
        await c.close()
    await agent.close()


async def test_queued_citizen_with_nobody_serving_gets_no_made_up_estimate(server: LiveServer) -> None:
    citizen, queued = await server.citizen("welsh", "Siân", "cy")
    assert queued["position"] == 1 and queued["estimated_wait_s"] is None
    await citizen.close()


async def test_a_resent_client_id_is_stored_once_and_delivered_once(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.take(cid)
    for _ in range(3):
        await citizen.send({"type": "message", "id": "same", "text": "only once please"})
    await agent.expect(typed("message", id="same"))
    assert await agent.maybe(typed("message", id="same"), timeout=1) is None
    echoes = [f for f in (await _drain(citizen)) if f.get("type") == "message" and f.get("id") == "same"]
    assert len(echoes) == 3  # the sender is told each time, so a client that lost the echo can stop retrying
    assert await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", uuid.UUID(cid)) == 1


async def _drain(client: Client) -> list[dict[str, object]]:
    await client.maybe(lambda f: False, timeout=0.5)
    client.rewind()
    return list(client.seen)


async def test_citizen_ends_an_assigned_chat_and_the_agent_wraps_up(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.take(cid)
    await citizen.send({"type": "chat.end"})
    assert (await citizen.expect(typed("chat.ended")))["by"] == "citizen"
    await agent.expect(typed("conversation.ended", conversation_id=cid, by="citizen"))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "no-action"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))
    row = await db.fetchrow("SELECT state, ended_by, disposition FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert dict(row) == {"state": "closed", "ended_by": "citizen", "disposition": "no-action"}


async def test_citizen_leaving_during_an_offer_withdraws_it_from_the_console(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen()
    cid = queued["conversation_id"]
    await agent.expect(typed("offer", conversation_id=cid))
    await citizen.send({"type": "chat.end"})
    withdrawn = await agent.expect(typed("offer.withdrawn", conversation_id=cid))
    assert withdrawn["reason"] == "abandoned"
    await agent.expect(lambda f: f.get("type") == "agent.state" and f["load"]["chat"] == 0)
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "abandoned"
    assert await db.fetchval("SELECT outcome FROM offers WHERE conversation_id = $1", uuid.UUID(cid)) == "withdrawn"


async def test_resume_after_a_reconnect_returns_the_transcript_and_carries_on(server: LiveServer) -> None:
    agent = await server.agent("agent2")
    citizen, queued = await server.citizen()
    cid, token = queued["conversation_id"], queued["resume_token"]
    await agent.take(cid)
    await citizen.send({"type": "message", "id": "c1", "text": "before the tunnel"})
    await agent.expect(typed("message", id="c1"))
    await citizen.close()
    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "while you were away"})
    await agent.expect(typed("message", id="a1"))  # stored: the adviser sees it sent

    back = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await back.send({"type": "chat.resume", "resume_token": token})
    resumed = await back.expect(typed("chat.resumed"))
    assert resumed["conversation_id"] == cid and resumed["state"] == "assigned"
    assert resumed["agent_name"] == "Bethan Jones"
    assert [(m["from"], m["text"]) for m in resumed["transcript"]] == [
        ("citizen", "before the tunnel"),
        ("agent", "while you were away"),
    ]
    await back.send({"type": "message", "id": "c2", "text": "back again"})
    await agent.expect(typed("message", id="c2"))
    await asyncio.sleep(1.5 * UNIT)  # beyond the grace period: the chat was resumed in time, so it stays open
    await agent.send({"type": "message", "conversation_id": cid, "id": "a2", "text": "still here"})
    await back.expect(typed("message", id="a2"))


async def test_a_message_sent_while_the_citizen_resumes_reaches_them_once(server: LiveServer) -> None:
    agent = await server.agent("agent2")
    citizen, queued = await server.citizen()
    cid, token = queued["conversation_id"], queued["resume_token"]
    await agent.take(cid)
    await citizen.close()
    for n in range(8):
        # The adviser's message and the citizen's resume race: it arrives in the transcript or just after, once.
        back = await Client.connect(server.ws("/ws/chat"), origin=server.base)
        sent = agent.send({"type": "message", "conversation_id": cid, "id": f"r{n}", "text": f"race {n}"})
        await asyncio.gather(sent, back.send({"type": "chat.resume", "resume_token": token}))
        resumed = await back.expect(typed("chat.resumed"))
        in_transcript = [m["id"] for m in resumed["transcript"]].count(f"r{n}")
        if not in_transcript:
            await back.expect(typed("message", id=f"r{n}"))
        await agent.expect(typed("message", id=f"r{n}"))
        await back.send({"type": "ping"})
        await back.expect(typed("pong"))
        live = [f for f in back.seen if f.get("type") == "message" and f.get("id") == f"r{n}"]
        assert in_transcript + len(live) == 1, (in_transcript, live)
        await back.close()


async def test_a_citizen_who_does_not_come_back_has_left(server: LiveServer, db: asyncpg.Pool) -> None:
    citizen, queued = await server.citizen("council-tax")
    await citizen.close()
    cid = uuid.UUID(queued["conversation_id"])
    for _ in range(int(40 * UNIT)):
        if await db.fetchval("SELECT state FROM conversations WHERE id = $1", cid) == "abandoned":
            break
        await asyncio.sleep(0.1)
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", cid) == "abandoned"
    assert await server.services.router_store.waiting("council-tax") == []


async def test_resume_with_a_wrong_token_is_refused(server: LiveServer) -> None:
    client = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await client.send({"type": "chat.resume", "resume_token": "not-a-token"})
    assert (await client.expect(typed("error")))["code"] == "unknown_token"


async def test_frames_out_of_order_get_clear_errors(server: LiveServer, db: asyncpg.Pool, tenant: str) -> None:
    client = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await client.send({"type": "message", "id": "m1", "text": "hello?"})
    assert (await client.expect(typed("error")))["code"] == "no_chat"
    await client.send({"type": "chat.start", "queue": "no-such-topic", "name": "Ann"})
    assert (await client.expect(typed("error")))["code"] == "unknown_queue"
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", tenant) == 0
    await client.send({"type": "chat.start", "queue": "general", "name": "Ann"})
    await client.expect(typed("chat.queued"))
    await client.send({"type": "chat.start", "queue": "general", "name": "Ann"})
    assert (await client.expect(typed("error")))["code"] == "already_started"
    await client.send({"type": "chat.end"})
    await client.expect(typed("chat.ended"))
    await client.send({"type": "message", "id": "m2", "text": "one more thing"})
    assert (await client.expect(typed("error")))["code"] == "conflict"
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", tenant) == 1


async def test_a_burst_of_citizens_is_queued_in_order_of_arrival(server: LiveServer) -> None:
    """Fifty chats starting at once all get queued (once a burst above the pool size deadlocked)."""
    clients = [await Client.connect(server.ws("/ws/chat"), origin=server.base) for _ in range(50)]
    await asyncio.gather(
        *(c.send({"type": "chat.start", "queue": "general", "name": f"C{i}"}) for i, c in enumerate(clients))
    )
    for c in clients:
        await c.expect(typed("chat.queued"), timeout=10)
    await clients[-1].maybe(lambda f: False, timeout=1.5)  # arrivals in the same millisecond settle
    queued = []
    for c in clients:
        await c.maybe(lambda f: False, timeout=0.05)
        queued.append([f for f in c.seen if f["type"] == "chat.queued"][-1])
    assert sorted(q["position"] for q in queued) == list(range(1, 51))
    agent = await server.agent("agent1")
    offers = [await agent.expect(typed("offer")) for _ in range(3)]
    first_three = {q["conversation_id"] for q in queued if q["position"] <= 3}
    assert {o["conversation_id"] for o in offers} == first_three
    for c in clients:
        await c.close()


async def test_the_citizen_hears_queued_before_the_agent_joins(server: LiveServer) -> None:
    agent = await server.agent("agent1")
    for i in range(10):
        citizen, queued = await server.citizen("general", f"C{i}")
        await agent.expect(typed("offer", conversation_id=queued["conversation_id"]))
        await agent.send({"type": "offer.accept", "conversation_id": queued["conversation_id"]})
        await citizen.expect(typed("chat.agent_joined"))
        citizen.rewind()
        kinds = [f["type"] for f in citizen.seen]
        assert kinds.index("chat.queued") < kinds.index("chat.agent_joined")
        await citizen.send({"type": "chat.end"})
        await agent.expect(typed("conversation.ended", conversation_id=queued["conversation_id"]))
        await agent.send(
            {"type": "wrapup.done", "conversation_id": queued["conversation_id"], "disposition": "resolved"}
        )
        await agent.expect(typed("conversation.closed", conversation_id=queued["conversation_id"]))
        await citizen.close()
