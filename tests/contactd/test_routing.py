"""Routing as agents see it through their consoles: longest idle first, decline, timeout, transfer."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import LiveServer, make_settings
from tests.helpers import UNIT, Client, login, typed


@pytest.fixture
async def quick(server_urls: tuple[str, str], department: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A server whose offers time out after one second."""
    live = await LiveServer(make_settings(server_urls, department, tmp_path, offer_timeout_s=1.0 * UNIT)).start()
    yield live
    await live.stop()


async def test_the_longest_idle_agent_is_offered_first(server: LiveServer, db: asyncpg.Pool) -> None:
    first = await server.agent("agent3")
    await asyncio.sleep(0.05)
    second = await server.agent("agent1")
    _, queued = await server.citizen("general")
    cid = queued["conversation_id"]
    await first.expect(typed("offer", conversation_id=cid))
    assert await second.maybe(typed("offer"), timeout=0.5) is None
    await server.services.eventlog.flush()  # receipts are written behind: a reader of the table flushes first
    receipt = json.loads(
        await db.fetchval(
            "SELECT data FROM events WHERE conversation_id = $1 AND type = 'routing.offered'", uuid.UUID(cid)
        )
    )
    ids = dict(await db.fetch("SELECT username, id::text FROM users WHERE tenant_id = $1", server.settings.tenant))
    assert receipt["rule"] == "longest-idle" and receipt["chosen"] == ids["agent3"]
    assert receipt["ranked"] == [ids["agent3"], ids["agent1"]]


async def test_a_declined_chat_goes_to_the_next_agent_and_not_back(server: LiveServer, db: asyncpg.Pool) -> None:
    decliner = await server.agent("agent3")
    _, queued = await server.citizen("general")
    cid = queued["conversation_id"]
    await decliner.expect(typed("offer", conversation_id=cid))
    other = await server.agent("agent1")
    await decliner.send({"type": "offer.reject", "conversation_id": cid})
    assert (await decliner.expect(typed("offer.withdrawn", conversation_id=cid)))["reason"] == "declined"
    await other.expect(typed("offer", conversation_id=cid))
    assert await decliner.maybe(typed("offer", conversation_id=cid), timeout=1) is None
    outcomes = [
        r["outcome"]
        for r in await db.fetch("SELECT outcome FROM offers WHERE conversation_id = $1 ORDER BY id", uuid.UUID(cid))
    ]
    assert outcomes == ["rejected", None]


async def test_an_unanswered_offer_times_out_and_the_chat_keeps_its_place(quick: LiveServer, db: asyncpg.Pool) -> None:
    sleepy = await quick.agent("agent3")
    _first, q1 = await quick.citizen("general", "First")
    await sleepy.expect(typed("offer", conversation_id=q1["conversation_id"]))
    await sleepy.send({"type": "agent.status", "status": "available"})  # still there, just not answering
    withdrawn = await sleepy.expect(typed("offer.withdrawn", conversation_id=q1["conversation_id"]), timeout=4)
    assert withdrawn["reason"] == "timeout"
    await sleepy.send({"type": "agent.status", "status": "away"})
    await sleepy.expect(typed("agent.state", status="away"))
    _later, q2 = await quick.citizen("general", "Later")
    assert q2["position"] == 2  # the first citizen is back at the head of the queue
    fresh = await quick.agent("agent1")
    offer = await fresh.expect(typed("offer"))
    assert offer["conversation_id"] == q1["conversation_id"]
    assert (
        await db.fetchval(
            "SELECT outcome FROM offers WHERE conversation_id = $1 ORDER BY id LIMIT 1",
            uuid.UUID(q1["conversation_id"]),
        )
        == "timeout"
    )
    metrics = quick.services.metrics.render().decode()
    assert "contactd_offer_timeouts_total 1.0" in metrics


async def test_going_away_withdraws_an_offer_and_stops_new_ones(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    _, queued = await server.citizen("general")
    await agent.expect(typed("offer", conversation_id=queued["conversation_id"]))
    await agent.send({"type": "agent.status", "status": "away", "reason": "break"})
    withdrawn = await agent.expect(typed("offer.withdrawn", conversation_id=queued["conversation_id"]))
    assert withdrawn["reason"] == "away"
    row = await db.fetchrow(
        "SELECT c.state, o.outcome FROM conversations c JOIN offers o ON o.conversation_id = c.id WHERE c.id = $1",
        uuid.UUID(queued["conversation_id"]),
    )
    assert dict(row) == {"state": "queued", "outcome": "withdrawn"}
    await server.citizen("general", "Bo")
    assert await agent.maybe(typed("offer"), timeout=1) is None


async def test_a_transferred_chat_reaches_an_agent_of_the_other_queue_with_its_transcript(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    general = await server.agent("agent3")  # serves general and council-tax, not welsh
    citizen, queued = await server.citizen("general", "Siân", "cy")
    cid = queued["conversation_id"]
    await general.take(cid)
    await citizen.send({"type": "message", "id": "c1", "text": "Hoffwn siarad Cymraeg"})
    await general.expect(typed("message", id="c1"))
    await general.send({"type": "transfer", "conversation_id": cid, "queue": "welsh", "reason": "wants Welsh"})
    assert (await general.expect(typed("conversation.closed", conversation_id=cid)))["reason"] == "transferred"
    assert (await citizen.expect(typed("chat.transferred")))["queue"] == "welsh"
    assert (await citizen.expect(typed("chat.queued")))["position"] == 1
    welsh = await server.agent("agent2")
    offer = await welsh.expect(typed("offer", conversation_id=cid, queue="welsh"))
    assert offer["transferred"]["by"] == "Chris Patel" and offer["transferred"]["reason"] == "wants Welsh"
    await welsh.send({"type": "offer.accept", "conversation_id": cid})
    assigned = await welsh.expect(typed("conversation.assigned", conversation_id=cid))
    assert [m["text"] for m in assigned["transcript"]] == ["Hoffwn siarad Cymraeg"]
    assert assigned["transferred"]["reason"] == "wants Welsh"
    assert (await citizen.expect(typed("chat.agent_joined"), timeout=2))["agent_name"]
    events = [
        r["type"]
        for r in await db.fetch("SELECT type FROM events WHERE conversation_id = $1 ORDER BY id", uuid.UUID(cid))
    ]
    assert "conversation.transferred" in events and events.count("offer.accepted") == 2


async def test_redis_emptied_mid_chat_is_rebuilt_from_postgresql(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen("general")
    cid = queued["conversation_id"]
    await agent.take(cid)
    _, q2 = await server.citizen("welsh", "Waiting")  # nobody serving welsh is signed in
    redis = server.services.redis
    await redis.delete(*[k async for k in redis.scan_iter(match=f"cc:{{{server.settings.tenant}}}:*")])
    store = server.services.router_store
    for _ in range(int(40 * UNIT)):  # rebuilt, and the rebuilding node has put its advisers back (lock released)
        if await store.is_built() and not await redis.exists(server.services.keys.rebuild_lock()):
            break
        await asyncio.sleep(0.1)
    agent1 = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = 'agent1'", server.settings.tenant
    )
    live = await store.conversation(cid)
    assert live is not None and (live.state, live.agent_id) == ("assigned", str(agent1))
    assert await store.waiting("welsh") == [q2["conversation_id"]]
    restored = await store.agent(str(agent1))
    assert restored is not None and restored.status == "available" and restored.load["chat"] == 1
    # The conversation carries on where it was.
    await citizen.send({"type": "message", "id": "after", "text": "still there?"})
    await agent.expect(typed("message", id="after"))


async def test_an_agent_who_misses_three_offers_is_set_away_and_told_why(quick: LiveServer, db: asyncpg.Pool) -> None:
    agent = await quick.agent("agent3")
    for n in range(4):
        await quick.citizen("general", f"C{n}")
    state = await agent.expect(typed("agent.state", status="away"), timeout=8)
    assert state["reason"] == "missed offers"
    await agent.maybe(lambda f: False, timeout=0.5)
    offers = {f["conversation_id"] for f in agent.seen if f.get("type") == "offer"}
    ended = {f["conversation_id"]: f["reason"] for f in agent.seen if f.get("type") == "offer.withdrawn"}
    # Capacity 3: three offers at once; a fourth may fill a slot freed by a miss, and is withdrawn when set away.
    assert set(ended) == offers and list(ended.values()).count("timeout") >= 3
    assert set(ended.values()) <= {"timeout", "away"}
    assert await agent.maybe(typed("offer"), timeout=1.5) is None
    last = await db.fetchval(
        "SELECT data->>'reason' FROM events WHERE tenant_id = $1 AND type = 'agent.status' ORDER BY id DESC LIMIT 1",
        quick.settings.tenant,
    )
    assert last == "missed offers"


async def test_wrap_up_has_a_time_limit_after_which_the_slot_frees(
    server_urls: tuple[str, str], department: str, tmp_path: Path, db: asyncpg.Pool
) -> None:
    live = await LiveServer(make_settings(server_urls, department, tmp_path, wrapup_s=1.0 * UNIT)).start()
    try:
        agent = await live.agent("agent1")
        citizen, queued = await live.citizen("general")
        cid = queued["conversation_id"]
        await agent.take(cid)
        await citizen.send({"type": "chat.end"})
        await agent.expect(typed("conversation.ended", conversation_id=cid))
        closed = await agent.expect(typed("conversation.closed", conversation_id=cid), timeout=4)
        assert closed["reason"] == "wrap-up time ended"
        await agent.expect(lambda f: f.get("type") == "agent.state" and f["load"]["chat"] == 0)
        row = await db.fetchrow("SELECT state, disposition FROM conversations WHERE id = $1", uuid.UUID(cid))
        assert dict(row) == {"state": "closed", "disposition": None}
        events = await db.fetch("SELECT type FROM events WHERE conversation_id = $1", uuid.UUID(cid))
        assert "wrapup.expired" in [e["type"] for e in events]
    finally:
        await live.stop()


async def test_the_routing_receipt_says_why_the_citizen_waited_and_why_this_agent(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    away = await server.agent("agent2", status="away")
    _, queued = await server.citizen("council-tax", "Ann")  # agent1 and agent3 serve it; neither is signed in
    cid = queued["conversation_id"]
    decliner = await server.agent("agent3")
    await decliner.expect(typed("offer", conversation_id=cid))
    await decliner.send({"type": "offer.reject", "conversation_id": cid})
    taker = await server.agent("agent1")
    await taker.take(cid)
    del away
    async with httpx.AsyncClient(base_url=server.base) as c:
        sup = {"Cookie": await login(server.base, "supervisor")}
        r = await c.get(f"/api/conversations/{cid}/routing", headers=sup)
        assert r.status_code == 200
        other = await c.get(f"/api/conversations/{cid}/routing", headers={"Cookie": await login(server.base, "agent2")})
        assert other.status_code == 404
    receipt = r.json()
    kinds = [(d["kind"], d["chosen"]["name"] if d["chosen"] else None, d["outcome"]) for d in receipt["decisions"]]
    assert kinds == [
        ("waiting", None, None),
        ("offered", "Chris Patel", "rejected"),
        ("offered", "Alex Morgan", "accepted"),
    ]
    # Nobody serving council tax was signed in when Ann arrived (Bethan, away, does not serve it).
    assert receipt["decisions"][0]["skipped"] == []
    assert receipt["decisions"][0]["summary"] == "Waited: nobody serving council-tax was signed in."
    second = receipt["decisions"][2]
    assert {"name": "Chris Patel", "reason": "declined or missed this contact"} in [
        {"name": s["name"], "reason": s["reason"]} for s in second["skipped"]
    ]
    assert second["rule"] == "longest-idle" and [a["name"] for a in second["ranked"]] == ["Alex Morgan"]
    assert second["summary"] == (
        "Offered to Alex Morgan by the longest-idle rule, first of 1 eligible; 1 passed over (reasons listed)."
    )
    assert receipt["waited_s"] >= 0 and receipt["state"] == "assigned"
    assert [t["type"] for t in receipt["timeline"]][:2] == ["conversation.arrived", "routing.waiting"]


async def test_a_chat_transferred_to_a_named_agent_waits_for_them_first(server: LiveServer, db: asyncpg.Pool) -> None:
    ids = dict(await db.fetch("SELECT username, id FROM users WHERE tenant_id = $1", server.settings.tenant))
    first = await server.agent("agent1")
    citizen, queued = await server.citizen("benefits", "Ann")
    cid = queued["conversation_id"]
    await first.take(cid)
    bystander = await server.agent("agent3")  # free, but Ann is reserved for Bethan
    await first.send({"type": "transfer", "conversation_id": cid, "agent_id": ids["agent2"], "reason": "her case"})
    await first.expect(typed("conversation.closed", conversation_id=cid))
    assert await bystander.maybe(typed("offer", conversation_id=cid), timeout=1) is None
    named = await server.agent("agent2")
    offer = await named.expect(typed("offer", conversation_id=cid))
    assert offer["transferred"] == {
        "to_queue": "benefits",
        "to_agent": ids["agent2"],
        "reason": "her case",
        "by": "Alex Morgan",
    }
    await named.send({"type": "offer.accept", "conversation_id": cid})
    await citizen.expect(typed("chat.agent_joined", agent_name="Alex Morgan"))
    await citizen.expect(typed("chat.transferred"))
    await citizen.expect(typed("chat.agent_joined", agent_name="Bethan Jones"))


async def test_a_transfer_must_name_somewhere_real(server: LiveServer) -> None:
    agent = await server.agent("agent1")
    _, queued = await server.citizen("general")
    cid = queued["conversation_id"]
    await agent.take(cid)
    for frame, code in (
        ({"type": "transfer", "conversation_id": cid}, "conflict"),
        ({"type": "transfer", "conversation_id": cid, "queue": "nowhere"}, "not_found"),
        ({"type": "transfer", "conversation_id": cid, "agent_id": 999999}, "not_found"),
    ):
        await agent.send(frame)
        assert (await agent.expect(typed("error")))["code"] == code
    await agent.send({"type": "message", "conversation_id": cid, "id": "still", "text": "still mine"})
    await agent.expect(typed("message", id="still"))


async def test_a_new_skill_takes_effect_at_the_next_offer(server: LiveServer, db: asyncpg.Pool) -> None:
    bethan = await server.agent("agent2")  # general, benefits, welsh: not council tax
    _, first = await server.citizen("council-tax", "Ann")
    assert await bethan.maybe(typed("offer"), timeout=1) is None
    agent2 = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = 'agent2'", server.settings.tenant
    )
    async with httpx.AsyncClient(base_url=server.base) as c:
        skills = {"skills": {"general": 3, "benefits": 3, "welsh": 3, "council-tax": 2}}
        as_agent = await c.put(
            f"/api/agents/{agent2}/skills", json=skills, headers={"Cookie": await login(server.base, "agent1")}
        )
        assert as_agent.status_code == 403
        bad = await c.put(
            f"/api/agents/{agent2}/skills",
            json={"skills": {"general": 9}},
            headers={"Cookie": await login(server.base, "admin")},
        )
        assert bad.status_code == 400
        r = await c.put(
            f"/api/agents/{agent2}/skills", json=skills, headers={"Cookie": await login(server.base, "admin")}
        )
        assert r.status_code == 200
    await server.services.router.route_waiting(["council-tax"])
    await bethan.expect(typed("offer", conversation_id=first["conversation_id"]))
    assert await db.fetchval("SELECT count(*) FROM events WHERE agent_id = $1 AND type = 'agent.skills'", agent2) == 1


async def test_a_round_robin_queue_takes_turns_whoever_has_been_idle_longest(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.patch(
            "/api/queues/general",
            json={"strategy": "round-robin"},
            headers={"Cookie": await login(server.base, "admin")},
        )
        assert r.status_code == 200
        bad = await c.patch(
            "/api/queues/general", json={"strategy": "random"}, headers={"Cookie": await login(server.base, "admin")}
        )
        assert bad.status_code == 400
    agents = {name: await server.agent(name) for name in ("agent1", "agent2", "agent3")}
    await asyncio.sleep(0.3 * UNIT)  # every node re-reads the queue settings
    order = []
    for n in range(6):
        _, queued = await server.citizen("general", f"C{n}")
        for name, client in agents.items():
            if await client.maybe(typed("offer", conversation_id=queued["conversation_id"]), timeout=0.3):
                order.append(name)
                break
    assert order == ["agent1", "agent2", "agent3", "agent1", "agent2", "agent3"]


async def test_a_long_wait_escalates_to_overflow_advisers_and_shows_on_the_board(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    admin = {"Cookie": await login(server.base, "admin")}
    async with httpx.AsyncClient(base_url=server.base) as c:
        bad = await c.patch("/api/queues/welsh", json={"escalation": [{"after_s": "soon"}]}, headers=admin)
        assert bad.status_code == 400 and "after_s" in bad.json()["error"]
        for queue, steps in (
            ("welsh", [{"after_s": 1, "overflow": ["general"]}]),
            ("benefits", [{"after_s": 1, "raise_priority": 10}]),
        ):
            r = await c.patch(f"/api/queues/{queue}", json={"escalation": steps}, headers=admin)
            assert r.status_code == 200
    board = await Client.connect(server.ws("/ws/board"), await login(server.base, "supervisor"), server.base)
    _, waiting = await server.citizen("benefits", "Bo")  # nobody serving benefits is signed in
    snap = await board.expect(
        lambda f: (
            f.get("type") == "board.snapshot"
            and next(q for q in f["queues"] if q["name"] == "benefits")["escalated"] == {"1": 1}
        ),
        timeout=5,
    )
    assert next(q for q in snap["queues"] if q["name"] == "benefits")["waiting"] == 1

    chris = await server.agent("agent3")  # general and council tax: no Welsh
    _, queued = await server.citizen("welsh", "Siân", "cy")
    cid = queued["conversation_id"]
    await chris.expect(typed("offer", conversation_id=cid), timeout=5)
    row = await db.fetchrow("SELECT escalation_step FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert row["escalation_step"] == 1
    async with httpx.AsyncClient(base_url=server.base) as c:
        receipt = (await c.get(f"/api/conversations/{cid}/routing", headers=admin)).json()
    assert "routing.escalated" in [t["type"] for t in receipt["timeline"]]
    assert waiting["position"] == 1


async def test_an_escalation_step_can_relax_the_minimum_skill_level(server: LiveServer, db: asyncpg.Pool) -> None:
    tenant = server.settings.tenant
    await db.execute(
        "UPDATE queue_skills SET min_level = 3 WHERE queue_id = (SELECT id FROM queues WHERE tenant_id = $1"
        " AND name = 'council-tax')",
        tenant,
    )
    agent2 = await db.fetchval("SELECT id FROM users WHERE tenant_id = $1 AND username = 'agent2'", tenant)
    admin = {"Cookie": await login(server.base, "admin")}
    async with httpx.AsyncClient(base_url=server.base) as c:
        skills = {"skills": {"general": 3, "benefits": 3, "welsh": 3, "council-tax": 1}}  # two levels short
        assert (await c.put(f"/api/agents/{agent2}/skills", json=skills, headers=admin)).status_code == 200
        steps = {"escalation": [{"after_s": 1.5, "relax_level": 2}]}
        assert (await c.patch("/api/queues/council-tax", json=steps, headers=admin)).status_code == 200
    bethan = await server.agent("agent2")
    _, queued = await server.citizen("council-tax", "Ann")
    cid = queued["conversation_id"]
    assert await bethan.maybe(typed("offer", conversation_id=cid), timeout=1) is None
    await bethan.expect(typed("offer", conversation_id=cid), timeout=5)
