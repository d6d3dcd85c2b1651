"""Supervisor actions over the API: setting an adviser away, offline or available, audited with who did it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.conftest import LiveServer
from tests.helpers import Client, login, typed


async def user_id(db: asyncpg.Pool, server: LiveServer, username: str) -> int:
    found: int = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = $2", server.settings.tenant, username
    )
    return found


async def test_a_supervisor_sets_an_adviser_away_and_back(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent2")
    _, queued = await server.citizen("benefits")
    await agent.expect(typed("offer", conversation_id=queued["conversation_id"]))
    bethan, sam = await user_id(db, server, "agent2"), await user_id(db, server, "supervisor")
    url = f"/api/agents/{bethan}/status"
    async with httpx.AsyncClient(base_url=server.base) as web:
        assert (await web.post(url, json={"status": "away"})).status_code == 401
        web.headers["Cookie"] = await login(server.base, "agent1")
        assert (await web.post(url, json={"status": "away"})).status_code == 403  # advisers cannot
        web.headers["Cookie"] = await login(server.base, "supervisor")
        assert (await web.post(url, json={"status": "lunch"})).status_code == 400
        assert (await web.post(url, json={"status": "away", "reason": "x" * 81})).status_code == 400
        assert (await web.post(f"/api/agents/{sam}/status", json={"status": "away"})).status_code == 404
        r = await web.post(url, json={"status": "away", "reason": "team meeting"})
        assert r.status_code == 200
        state = await agent.expect(typed("agent.state", status="away"))
        assert state["reason"] == "set by Sam Taylor: team meeting"
        board = await Client.connect(server.ws("/ws/board"), await login(server.base, "supervisor"), server.base)
        shown = await board.expect(
            lambda f: (
                f.get("type") == "board.snapshot"
                and any(a["id"] == bethan and a["status"] == "away" for a in f["agents"])
            )
        )
        row = next(a for a in shown["agents"] if a["id"] == bethan)
        assert row["reason"] == "set by Sam Taylor: team meeting"  # the board says why
        agent.rewind()
        withdrawn = await agent.expect(typed("offer.withdrawn", conversation_id=queued["conversation_id"]))
        assert withdrawn["reason"] == "away"
        assert (await web.post(url, json={"status": "available"})).status_code == 200
        assert (await agent.expect(typed("agent.state", status="available")))["reason"] == ""
        # An adviser with no console open cannot be made available: offers would go to nobody.
        chris = await user_id(db, server, "agent3")
        assert (await web.post(f"/api/agents/{chris}/status", json={"status": "available"})).status_code == 409
    audited = await db.fetch(
        "SELECT data->>'status' AS status, data->>'by' AS by FROM events WHERE tenant_id = $1"
        " AND type = 'agent.status' AND agent_id = $2 ORDER BY id",
        server.settings.tenant,
        bethan,
    )
    assert [(r["status"], r["by"]) for r in audited][-2:] == [("away", str(sam)), ("available", str(sam))]


async def test_a_supervisor_moves_a_waiting_contact_and_raises_another(server: LiveServer, db: asyncpg.Pool) -> None:
    first, q1 = await server.citizen("council-tax", "Ann")
    _, q2 = await server.citizen("council-tax", "Bo")
    one, two = q1["conversation_id"], q2["conversation_id"]
    assert await server.services.router_store.waiting("council-tax") == [one, two]
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "agent2")
        assert (await web.post(f"/api/conversations/{two}/steer", json={"priority": 50})).status_code == 403
        web.headers["Cookie"] = await login(server.base, "supervisor")
        for bad in ({}, {"queue": "nope"}, {"priority": 1000}, {"priority": "high"}, {"priority": True}):
            assert (await web.post(f"/api/conversations/{two}/steer", json=bad)).status_code == 400, bad
        missing = "00000000-0000-0000-0000-000000000000"
        assert (await web.post(f"/api/conversations/{missing}/steer", json={"priority": 5})).status_code == 404
        # Bo first: a higher priority moves them ahead, keeping their arrival time.
        assert (await web.post(f"/api/conversations/{two}/steer", json={"priority": 50})).status_code == 200
        assert await server.services.router_store.waiting("council-tax") == [two, one]
        # Ann to benefits, where Bethan is free: offered at once, and Ann is told where she now waits.
        agent = await server.agent("agent2")  # serves benefits, not council tax
        assert (await web.post(f"/api/conversations/{one}/steer", json={"queue": "benefits"})).status_code == 200
        await agent.expect(typed("offer", conversation_id=one, queue="benefits"))
        assert (await first.expect(typed("chat.transferred")))["queue"] == "benefits"
        assert (await web.post(f"/api/conversations/{one}/steer", json={"priority": 9})).status_code == 409
    row = await db.fetchrow(
        "SELECT q.name, c.priority FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.id = $1::uuid", two
    )
    assert (row["name"], row["priority"]) == ("council-tax", 50)
    sam = await user_id(db, server, "supervisor")
    steered = await db.fetch(
        "SELECT data->>'to' AS to, data->>'by' AS by FROM events WHERE tenant_id = $1 AND type = 'conversation.steered'"
        " ORDER BY id",
        server.settings.tenant,
    )
    assert [(r["to"], r["by"]) for r in steered] == [("council-tax", str(sam)), ("benefits", str(sam))]


async def test_a_supervisor_lists_who_waits_in_the_order_they_will_be_served(server: LiveServer) -> None:
    _, first = await server.citizen("general", "Ann", "cy")
    _, second = await server.citizen("general", "Ben")
    async with httpx.AsyncClient(base_url=server.base) as web:
        assert (await web.get("/api/queues/general/waiting")).status_code == 401
        web.headers["Cookie"] = await login(server.base, "agent1")
        assert (await web.get("/api/queues/general/waiting")).status_code == 403
        web.headers["Cookie"] = await login(server.base, "supervisor")
        assert (await web.get("/api/queues/nope/waiting")).status_code == 404
        for bad in ("0", "201", "ten", "-1"):
            r = await web.get("/api/queues/general/waiting", params={"limit": bad})
            assert r.status_code == 400 and "limit" in r.json()["error"]
        listed = (await web.get("/api/queues/general/waiting")).json()
        assert listed["total"] == 2
        ann, ben = listed["contacts"]
        assert (ann["conversation_id"], ann["name"], ann["language"], ann["position"]) == (
            first["conversation_id"],
            "Ann",
            "cy",
            1,
        )
        assert ben["conversation_id"] == second["conversation_id"] and ben["channel"] == "chat"
        # Raising Ben's priority puts him first: the list shows the order the router will serve.
        r = await web.post(f"/api/conversations/{second['conversation_id']}/steer", json={"priority": 50})
        assert r.status_code == 200
        listed = (await web.get("/api/queues/general/waiting", params={"limit": "1"})).json()
        assert listed["total"] == 2 and [c["name"] for c in listed["contacts"]] == ["Ben"]
        assert listed["contacts"][0]["priority"] == 50


async def test_a_queue_can_have_its_own_service_level_threshold(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "admin")
        for bad in ({"sms": 0}, {"fax": 30}, {"chat": "30"}, {"chat": True}, [30], {"chat": 604801}):
            r = await web.patch("/api/queues/general", json={"service_level_s": bad, "strategy": "round-robin"})
            assert r.status_code == 400 and "service_level_s" in r.json()["error"]
        web.headers["Cookie"] = await login(server.base, "supervisor")
        assert (await web.patch("/api/queues/general", json={"service_level_s": {"chat": 1}})).status_code == 403
    agent = await server.agent("agent1")
    _, queued = await server.citizen("general")
    await agent.expect(typed("offer", conversation_id=queued["conversation_id"]))
    await asyncio.sleep(1.2)  # answered after a second: within the default 60 s, not within 1 s
    await agent.send({"type": "offer.accept", "conversation_id": queued["conversation_id"]})
    await agent.expect(typed("conversation.assigned", conversation_id=queued["conversation_id"]))
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "supervisor")

        async def service_level() -> object:
            now = datetime.now(UTC)
            period = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
            r = await web.get("/api/reports/queues", params={**period, "interval": "1d", "queue": "general"})
            return r.json()["rows"][0]["service_level_pct"]

        assert await service_level() == 100.0
        web.headers["Cookie"] = await login(server.base, "admin")
        r = await web.patch("/api/queues/general", json={"service_level_s": {"chat": 1}})
        assert r.status_code == 200 and r.json()["service_level_s"] == {"chat": 1}
        assert await service_level() == 0.0
