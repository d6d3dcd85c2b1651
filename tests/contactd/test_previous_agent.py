"""A returning citizen is offered first to the adviser they spoke to last (semantics 4 of the router)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import asyncpg
import httpx

from tests.conftest import LiveServer
from tests.helpers import UNIT, Client, login, typed

KEY = "device-key-" + "0123456789abcdef" * 2  # what the chat page keeps for a citizen who asked to be remembered


async def close(agent: Client, cid: str) -> None:
    """The agent ends the chat they hold and finishes wrap-up."""
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.expect(typed("conversation.ended", conversation_id=cid))
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))


async def set_rule(server: LiveServer, rule: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as c:
        admin = {"Cookie": await login(server.base, "admin")}
        return await c.patch("/api/queues/general", json={"previous_agent": rule}, headers=admin)


async def test_a_returning_citizen_is_offered_to_their_previous_adviser_before_a_longer_idle_one(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    chris = await server.agent("agent3")
    _, first = await server.citizen("general", "Ann", citizen_key=KEY)
    await chris.take(first["conversation_id"])
    alex = await server.agent("agent1")  # idle since before Chris finishes, so first by longest idle
    await close(chris, first["conversation_id"])

    _, stranger = await server.citizen("general", "Bo")  # not remembered: longest idle as ever
    await alex.expect(typed("offer", conversation_id=stranger["conversation_id"]))
    _, back = await server.citizen("general", "Ann", citizen_key=KEY)
    cid = back["conversation_id"]
    await chris.expect(typed("offer", conversation_id=cid))
    assert await alex.maybe(typed("offer", conversation_id=cid), timeout=0.3) is None

    async with httpx.AsyncClient(base_url=server.base) as c:
        sup = {"Cookie": await login(server.base, "supervisor")}
        receipt = (await c.get(f"/api/conversations/{cid}/routing", headers=sup)).json()
    assert receipt["decisions"][0]["rule"] == "previous agent"
    assert receipt["decisions"][0]["chosen"]["name"] == "Chris Patel"
    citizens = await db.fetchval(
        "SELECT count(DISTINCT citizen_id) FROM conversations WHERE id = ANY($1::uuid[])",
        [uuid.UUID(first["conversation_id"]), uuid.UUID(cid)],
    )
    assert citizens == 1  # one citizen, known again by the hash of the key (the key itself is not stored)
    stored = await db.fetchval(
        "SELECT count(*) FROM citizens WHERE tenant_id = $1 AND key_hash = $2",
        server.settings.tenant,
        hashlib.sha256(KEY.encode()).digest(),
    )
    assert stored == 1


async def test_the_citizen_waits_for_an_away_adviser_only_as_long_as_the_queue_says(server: LiveServer) -> None:
    assert (await set_rule(server, {"days": 7, "wait_s": 1})).json()["previous_agent"] == {"days": 7, "wait_s": 1}
    chris = await server.agent("agent3")
    _, first = await server.citizen("general", "Ann", citizen_key=KEY)
    await chris.take(first["conversation_id"])
    await close(chris, first["conversation_id"])
    await chris.send({"type": "agent.status", "status": "away", "reason": "lunch"})
    await chris.expect(typed("agent.state", status="away"))
    alex = await server.agent("agent1")
    await asyncio.sleep(0.3 * UNIT)  # every node re-reads the queue settings

    _, back = await server.citizen("general", "Ann", citizen_key=KEY)
    cid = back["conversation_id"]
    assert await alex.maybe(typed("offer", conversation_id=cid), timeout=0.5) is None  # kept for Chris ...
    await alex.expect(typed("offer", conversation_id=cid), timeout=3)  # ... for about a second, then anyone


async def test_a_queue_can_turn_the_rule_off_and_bad_rules_change_nothing(server: LiveServer) -> None:
    for bad in ({"days": -1}, {"wait_s": 601}, {"days": "7"}, {"weeks": 1}, [7]):
        r = await set_rule(server, bad)
        assert r.status_code == 400 and r.json()["error"].startswith("previous_agent:")
    assert (await set_rule(server, {"days": 0})).status_code == 200
    chris = await server.agent("agent3")
    _, first = await server.citizen("general", "Ann", citizen_key=KEY)
    await chris.take(first["conversation_id"])
    alex = await server.agent("agent1")
    await close(chris, first["conversation_id"])
    await asyncio.sleep(0.3 * UNIT)
    _, back = await server.citizen("general", "Ann", citizen_key=KEY)
    await alex.expect(typed("offer", conversation_id=back["conversation_id"]))  # longest idle: Alex
