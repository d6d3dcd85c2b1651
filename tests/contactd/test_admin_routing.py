"""The admin API for routing settings, as advisers, citizens and admins notice it: an adviser's capacity,
voice rule and queue order; a queue's hours; holidays; who may change them; and bad requests that change
nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from starlette.routing import Route

from contactd.app import routes
from tests.conftest import LiveServer
from tests.helpers import UNIT, Client, login, typed

Rows = tuple[Any, ...]


async def user_ids(server: LiveServer, db: asyncpg.Pool) -> dict[str, int]:
    rows = await db.fetch("SELECT username, id FROM users WHERE tenant_id = $1", server.settings.tenant)
    return {r["username"]: r["id"] for r in rows}


async def as_user(server: LiveServer, username: str) -> dict[str, str]:
    return {"Cookie": await login(server.base, username)}


async def is_open(server: LiveServer, queue: str, expected: bool) -> None:
    """Wait until the public topic list shows ``queue`` open (or closed), as a citizen would see it."""
    async with httpx.AsyncClient(base_url=server.base) as c:
        for _ in range(int(50 * UNIT)):
            topics = {q["name"]: q for q in (await c.get("/api/queues")).json()["queues"]}
            if topics[queue]["open"] is expected:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{queue} never became {'open' if expected else 'closed'}")


async def start_chat(server: LiveServer, queue: str) -> dict[str, Any]:
    """A citizen starts a chat; the first answer they get (chat.queued or chat.closed)."""
    citizen = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await citizen.send({"type": "chat.start", "queue": queue, "name": "Ann", "language": "en"})
    return await citizen.expect(lambda f: f.get("type") in ("chat.queued", "chat.closed"))


def noon_zone() -> str:
    """A fixed-offset IANA zone where it is now around midday, so a day-long period is open for a while yet."""
    offset = 12 - datetime.now(UTC).hour  # -11 ... +12; Etc/GMT signs are inverted (Etc/GMT-5 is UTC+5)
    return f"Etc/GMT{-offset:+d}"


async def routing_rows(db: asyncpg.Pool, user_id: int) -> Rows:
    """Everything an adviser's routing settings are stored as."""
    caps = await db.fetch("SELECT channel, capacity FROM agent_capacity WHERE user_id = $1 ORDER BY channel", user_id)
    ranks = await db.fetch(
        "SELECT q.name, r.rank FROM agent_queue_rank r JOIN queues q ON q.id = r.queue_id WHERE r.user_id = $1"
        " ORDER BY r.rank",
        user_id,
    )
    exclusive = await db.fetchval("SELECT voice_exclusive FROM users WHERE id = $1", user_id)
    return [tuple(r) for r in caps], exclusive, [tuple(r) for r in ranks]


async def queue_rows(db: asyncpg.Pool, tenant: str, name: str) -> Rows:
    """Everything a queue's settings are stored as."""
    queue = await db.fetchrow(
        "SELECT id, strategy, escalation, previous_agent_days, previous_agent_wait_s, timezone, observes_holidays"
        " FROM queues WHERE tenant_id = $1 AND name = $2",
        tenant,
        name,
    )
    hours = await db.fetch(
        "SELECT weekday, opens, closes FROM queue_hours WHERE queue_id = $1 ORDER BY weekday, opens", queue["id"]
    )
    return tuple(queue), [tuple(r) for r in hours]


async def test_a_lower_chat_capacity_means_one_chat_at_a_time(server: LiveServer, db: asyncpg.Pool) -> None:
    ids = await user_ids(server, db)
    admin = await as_user(server, "admin")
    alex = await server.agent("agent1")
    url = f"/api/agents/{ids['agent1']}/routing"
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.put(url, json={"capacity": {"chat": 1}}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["capacity"] == {"voice": 1, "chat": 1, "sms": 5, "email": 5}  # defaults filled in
        assert r.json()["capacity_overrides"] == {"chat": 1}
        await alex.expect(lambda f: f.get("type") == "agent.state" and f["capacity"]["chat"] == 1)
        _, first = await server.citizen("general", "First")
        _, second = await server.citizen("general", "Second")
        await alex.expect(typed("offer", conversation_id=first["conversation_id"]))
        assert await alex.maybe(typed("offer"), timeout=1.5) is None
        assert await routing_rows(db, ids["agent1"]) == ([("chat", 1)], True, [])

        # null removes the override: back to the deployment default, and the second chat is offered at once.
        r = await c.put(url, json={"capacity": {"chat": None}}, headers=admin)
        assert r.status_code == 200 and r.json()["capacity"]["chat"] == 3 and r.json()["capacity_overrides"] == {}
        await alex.expect(typed("offer", conversation_id=second["conversation_id"]))
        assert await routing_rows(db, ids["agent1"]) == ([], True, [])
        shown = await c.get(url, headers=await as_user(server, "supervisor"))
        assert shown.status_code == 200 and shown.json() == r.json()
    events = await db.fetch(
        "SELECT data FROM events WHERE agent_id = $1 AND type = 'agent.routing' ORDER BY id", ids["agent1"]
    )
    assert len(events) == 2


async def test_an_adviser_on_a_call_takes_a_chat_once_voice_exclusive_is_off(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    # No channel takes calls yet (no /twilio/voice route): the call is recorded and queued through the
    # services a voice channel would use, then routed, offered and accepted like any contact.
    ids = await user_ids(server, db)
    alex = await server.agent("agent1")
    svc = server.services
    call = await svc.store.create_conversation(channel="voice", queue="general", name="Caller", language="en")
    await svc.conversations.enqueue(call)
    await svc.conversations.dispatch(call.id)
    assert (await alex.take(call.id))["channel"] == "voice"
    _, chat = await server.citizen("general", "Ann")
    assert await alex.maybe(typed("offer", conversation_id=chat["conversation_id"]), timeout=1.5) is None
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.put(
            f"/api/agents/{ids['agent1']}/routing",
            json={"voice_exclusive": False},
            headers=await as_user(server, "admin"),
        )
    assert r.status_code == 200 and r.json()["voice_exclusive"] is False
    await alex.expect(typed("offer", conversation_id=chat["conversation_id"], channel="chat"))
    assert await routing_rows(db, ids["agent1"]) == ([], False, [])


async def test_queue_order_decides_which_waiting_chat_a_freed_adviser_gets_first(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    ids = await user_ids(server, db)
    admin = await as_user(server, "admin")
    url = f"/api/agents/{ids['agent1']}/routing"
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.put(url, json={"capacity": {"chat": 1}}, headers=admin)
        assert r.json()["queues"] == ["general", "benefits", "council-tax"]  # by queue priority: general first
        alex = await server.agent("agent1")
        _, first = await server.citizen("general", "First")
        cid = first["conversation_id"]
        await alex.take(cid)
        _, gwen = await server.citizen("general", "Gwen")  # waits longest, in the higher-priority queue
        _, ben = await server.citizen("benefits", "Ben")
        r = await c.put(url, json={"queue_order": ["benefits", "general"]}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["queue_order"] == ["benefits", "general"]
        assert r.json()["queues"] == ["benefits", "general", "council-tax"]
        await alex.send({"type": "conversation.end", "conversation_id": cid})
        await alex.expect(typed("conversation.ended", conversation_id=cid))
        await alex.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
        offer = await alex.expect(typed("offer"))
        assert offer["conversation_id"] == ben["conversation_id"]  # not Gwen's, though she waited longer
        assert await alex.maybe(typed("offer", conversation_id=gwen["conversation_id"]), timeout=0.5) is None
        assert (await routing_rows(db, ids["agent1"]))[2] == [("benefits", 1), ("general", 2)]

        r = await c.put(url, json={"queue_order": []}, headers=admin)  # an empty list clears the ranks
        assert r.json()["queue_order"] == [] and r.json()["queues"] == ["general", "benefits", "council-tax"]
        assert (await routing_rows(db, ids["agent1"]))[2] == []


async def test_hours_set_closed_answer_chats_closed_and_set_open_queue_them(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).weekday()
    hours = {
        "timezone": "UTC",
        "observes_holidays": False,
        "weekly": [
            {"day": tomorrow, "opens": "13:00", "closes": "17:00"},
            {"day": tomorrow, "opens": "09:00", "closes": "12:30"},
        ],
    }
    admin = await as_user(server, "admin")
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.patch("/api/queues/benefits", json={"hours": hours}, headers=admin)
        assert r.status_code == 200, r.text
        in_order = [hours["weekly"][1], hours["weekly"][0]]
        assert r.json() == {"name": "benefits", "hours": {**hours, "weekly": in_order}}
        shown = await c.get("/api/queues/benefits/hours", headers=await as_user(server, "agent2"))
        assert shown.status_code == 200 and shown.json() == {"name": "benefits", **hours, "weekly": in_order}
        await is_open(server, "benefits", False)
        closed = await start_chat(server, "benefits")
        assert closed["type"] == "chat.closed" and closed["reason"] == "outside_hours"
        assert datetime.fromisoformat(closed["opens_at"]).hour == 9

        r = await c.patch("/api/queues/benefits", json={"hours": {"weekly": []}}, headers=admin)
        assert r.status_code == 200 and r.json()["hours"]["weekly"] == [] and r.json()["hours"]["timezone"] == "UTC"
        await is_open(server, "benefits", True)
        assert (await start_chat(server, "benefits"))["type"] == "chat.queued"
    queue, periods = await queue_rows(db, server.settings.tenant, "benefits")
    assert queue[-2:] == ("UTC", False) and periods == []
    changes = await db.fetch(
        "SELECT data FROM events WHERE tenant_id = $1 AND type = 'queue.settings'", server.settings.tenant
    )
    assert len(changes) == 2


async def test_a_holiday_closes_the_queues_that_observe_it(server: LiveServer, db: asyncpg.Pool) -> None:
    zone = noon_zone()
    today = datetime.now(ZoneInfo(zone)).date()
    every_day = [{"day": d, "opens": "00:00", "closes": "23:59"} for d in range(7)]
    admin = await as_user(server, "admin")
    async with httpx.AsyncClient(base_url=server.base) as c:
        hours = {"timezone": zone, "observes_holidays": True, "weekly": every_day}
        assert (await c.patch("/api/queues/council-tax", json={"hours": hours}, headers=admin)).status_code == 200
        await is_open(server, "council-tax", True)
        days = {"days": [{"date": today.isoformat(), "name": "Closure day"}]}
        r = await c.post("/api/holidays", json=days, headers=admin)
        assert r.status_code == 200 and r.json()["imported"] == 1
        await is_open(server, "council-tax", False)
        closed = await start_chat(server, "council-tax")
        assert closed["type"] == "chat.closed" and closed["reason"] == "outside_hours"
        assert (await start_chat(server, "general"))["type"] == "chat.queued"  # no hours: holidays do not apply

        r = await c.patch("/api/queues/council-tax", json={"hours": {"observes_holidays": False}}, headers=admin)
        assert r.status_code == 200 and r.json()["hours"]["observes_holidays"] is False
        await is_open(server, "council-tax", True)
        assert (await start_chat(server, "council-tax"))["type"] == "chat.queued"
    rows = await db.fetch("SELECT day, name FROM holidays WHERE tenant_id = $1", server.settings.tenant)
    assert [tuple(r) for r in rows] == [(today, "Closure day")]


async def test_only_staff_with_the_right_role_see_or_change_routing_settings(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    ids = await user_ids(server, db)
    nobody: dict[str, str] = {}
    agent, sup, admin = [await as_user(server, u) for u in ("agent1", "supervisor", "admin")]
    url = f"/api/agents/{ids['agent2']}/routing"
    change = {"capacity": {"chat": 1}}
    hours = {"hours": {"weekly": [{"day": 0, "opens": "09:00", "closes": "17:00"}]}}
    holiday = {"days": [{"date": "2026-12-25", "name": "Christmas Day"}]}
    cases: list[tuple[str, str, Any, dict[str, str], int]] = [
        ("GET", url, None, nobody, 401),
        ("GET", url, None, agent, 403),
        ("GET", url, None, sup, 200),
        ("PUT", url, change, nobody, 401),
        ("PUT", url, change, agent, 403),
        ("PUT", url, change, sup, 403),
        ("GET", "/api/agents/999999999/routing", None, admin, 404),
        ("PUT", "/api/agents/999999999/routing", change, admin, 404),
        ("PUT", f"/api/agents/{ids['supervisor']}/routing", change, admin, 404),  # not an adviser
        ("GET", "/api/agents/abc/routing", None, admin, 404),
        ("GET", "/api/agents/%C2%B2/routing", None, admin, 404),
        ("GET", "/api/agents/99999999999999999999/routing", None, admin, 404),
        ("PUT", "/api/agents/99999999999999999999/skills", {"skills": {"general": 1}}, admin, 404),
        ("PATCH", "/api/queues/general", hours, nobody, 401),
        ("PATCH", "/api/queues/general", hours, agent, 403),
        ("PATCH", "/api/queues/nowhere", hours, admin, 404),
        ("GET", "/api/queues/general/hours", None, nobody, 401),
        ("GET", "/api/queues/general/hours", None, agent, 200),
        ("GET", "/api/queues/nowhere/hours", None, agent, 404),
        ("POST", "/api/holidays", holiday, nobody, 401),
        ("POST", "/api/holidays", holiday, sup, 403),
    ]
    async with httpx.AsyncClient(base_url=server.base) as c:
        for method, path, body, who, status in cases:
            r = await c.request(method, path, json=body, headers=who)
            assert r.status_code == status, (method, path, r.text)
            assert status == 200 or r.json()["error"]
    assert await routing_rows(db, ids["agent2"]) == ([], True, [])
    assert (await queue_rows(db, server.settings.tenant, "general"))[1] == []
    assert await db.fetchval("SELECT count(*) FROM holidays WHERE tenant_id = $1", server.settings.tenant) == 0


BAD_ROUTING: list[tuple[Any, str]] = [
    # (body, a part of the message)
    (b"not json", "Send"),
    ([], "Send"),
    ({}, "Send"),
    ({"colour": "red"}, "Send"),
    ({"capacity": {"chat": 1}, "colour": "red"}, "Unknown field 'colour'"),
    ({"capacity": None}, "capacity"),
    ({"capacity": [1]}, "capacity"),
    ({"capacity": {"fax": 1}}, "no channel 'fax'"),
    ({"capacity": {"chat": 51}}, "chat must be a whole number from 0 to 50"),
    ({"capacity": {"chat": -1}}, "chat must be a whole number"),
    ({"capacity": {"chat": 1.5}}, "chat must be a whole number"),
    ({"capacity": {"chat": True}}, "chat must be a whole number"),
    ({"capacity": {"chat": "2"}}, "chat must be a whole number"),
    ({"voice_exclusive": "no"}, "voice_exclusive must be true or false"),
    ({"voice_exclusive": 0}, "voice_exclusive must be true or false"),
    ({"voice_exclusive": None}, "voice_exclusive must be true or false"),
    ({"queue_order": "general"}, "queue_order: send a list"),
    ({"queue_order": [1]}, "queue_order: send a list"),
    ({"queue_order": [""]}, "queue_order: send a list"),
    ({"queue_order": ["general", "general"]}, "'general' listed more than once"),
    ({"queue_order": [f"q{n}" for n in range(101)]}, "at most 100"),
    ({"queue_order": ["general", "nowhere", "elsewhere"]}, "no active queue 'nowhere', 'elsewhere'"),
    # Valid parts are not applied when another part is bad.
    ({"capacity": {"chat": 1}, "voice_exclusive": False, "queue_order": ["nowhere"]}, "'nowhere'"),
    ({"capacity": {"chat": 1, "sms": 99}, "voice_exclusive": False}, "sms must be"),
]


async def test_every_bad_routing_body_is_refused_and_changes_nothing(server: LiveServer, db: asyncpg.Pool) -> None:
    ids = await user_ids(server, db)
    admin = await as_user(server, "admin")
    url = f"/api/agents/{ids['agent2']}/routing"
    async with httpx.AsyncClient(base_url=server.base) as c:
        good = {"capacity": {"chat": 2, "email": 0}, "voice_exclusive": True, "queue_order": ["welsh", "general"]}
        assert (await c.put(url, json=good, headers=admin)).status_code == 200
        before = await routing_rows(db, ids["agent2"])
        assert before == ([("chat", 2), ("email", 0)], True, [("welsh", 1), ("general", 2)])
        for body, message in BAD_ROUTING:
            if isinstance(body, bytes):
                r = await c.put(url, content=body, headers={**admin, "Content-Type": "application/json"})
            else:
                r = await c.put(url, json=body, headers=admin)
            assert r.status_code == 400, (body, r.text)
            assert message in r.json()["error"], (body, r.json())
            assert await routing_rows(db, ids["agent2"]) == before, body
    count = await db.fetchval(
        "SELECT count(*) FROM events WHERE agent_id = $1 AND type = 'agent.routing'", ids["agent2"]
    )
    assert count == 1


def period(day: Any = 0, opens: Any = "09:00", closes: Any = "17:00") -> dict[str, Any]:
    return {"day": day, "opens": opens, "closes": closes}


BAD_QUEUE: list[tuple[Any, str]] = [
    ({"hours": "9-5"}, "hours: send"),
    ({"hours": {}}, "hours: send"),
    ({"hours": {"weekdays": []}}, "hours: send"),
    ({"hours": {"timezone": "Mars/Olympus_Mons"}}, "'Mars/Olympus_Mons' is not an IANA time zone"),
    ({"hours": {"timezone": "../../etc/passwd"}}, "not an IANA time zone"),
    ({"hours": {"timezone": "europe/london"}}, "not an IANA time zone"),
    ({"hours": {"timezone": None}}, "not an IANA time zone"),
    ({"hours": {"timezone": 1}}, "not an IANA time zone"),
    ({"hours": {"observes_holidays": "yes"}}, "observes_holidays must be true or false"),
    ({"hours": {"weekly": {"day": 0}}}, "weekly must be a list"),
    ({"hours": {"weekly": [period()] * 71}}, "at most 70"),
    ({"hours": {"weekly": [{"day": 0, "opens": "09:00"}]}}, "weekly period 1: send"),
    ({"hours": {"weekly": [period(7)]}}, "day must be 0 (Monday) to 6 (Sunday)"),
    ({"hours": {"weekly": [period(-1)]}}, "day must be 0"),
    ({"hours": {"weekly": [period(True)]}}, "day must be 0"),
    ({"hours": {"weekly": [period("1")]}}, "day must be 0"),
    ({"hours": {"weekly": [period(opens="9:00")]}}, "opens must be a time HH:MM"),
    ({"hours": {"weekly": [period(opens="09:00:00")]}}, "opens must be a time HH:MM"),
    ({"hours": {"weekly": [period(closes="24:00")]}}, "closes must be a time HH:MM"),
    ({"hours": {"weekly": [period(closes="17:60")]}}, "closes must be a time HH:MM"),
    ({"hours": {"weekly": [period(closes=1700)]}}, "closes must be a time HH:MM"),
    ({"hours": {"weekly": [period(opens="17:00", closes="09:00")]}}, "closes must be after opens"),
    ({"hours": {"weekly": [period(opens="09:00", closes="09:00")]}}, "closes must be after opens"),
    (
        {"hours": {"weekly": [period(1, "09:00", "12:00"), period(1, "11:00", "13:00")]}},
        "on day 1, 11:00-13:00 overlaps 09:00-12:00",
    ),
    ({"hours": {"weekly": [period(2), period(2)]}}, "on day 2"),
    ({"escalation": {"after_s": 5}}, "escalation: send a list of steps"),
    # Valid parts are not applied when another part is bad.
    ({"strategy": "round-robin", "hours": {"timezone": "Nowhere/Else"}}, "hours: timezone"),
    ({"hours": {"timezone": "UTC", "weekly": [period(closes="25:00")]}}, "closes must be"),
    ({"hours": {"weekly": []}, "previous_agent": {"days": -1}}, "previous_agent: days"),
]


async def test_every_bad_queue_body_is_refused_and_changes_nothing(server: LiveServer, db: asyncpg.Pool) -> None:
    admin = await as_user(server, "admin")
    tenant = server.settings.tenant
    async with httpx.AsyncClient(base_url=server.base) as c:
        hours = {"timezone": "Europe/Belfast", "observes_holidays": False, "weekly": [period(0), period(4, "10:00")]}
        assert (await c.patch("/api/queues/benefits", json={"hours": hours}, headers=admin)).status_code == 200
        before = await queue_rows(db, tenant, "benefits")
        assert before[0][-2:] == ("Europe/Belfast", False) and len(before[1]) == 2
        for body, message in BAD_QUEUE:
            r = await c.patch("/api/queues/benefits", json=body, headers=admin)
            assert r.status_code == 400, (body, r.text)
            assert message in r.json()["error"], (body, r.json())
            assert await queue_rows(db, tenant, "benefits") == before, body


BAD_HOLIDAYS: list[tuple[Any, str]] = [
    ({}, "Send"),
    ({"days": []}, "Send"),
    ({"days": {"date": "2026-12-25", "name": "Christmas Day"}}, "Send"),
    ({"days": [{"date": "2026-12-25", "name": "x"}] * 501}, "1-500 days"),
    ({"days": ["2026-12-25"]}, "Day 1: date must be YYYY-MM-DD"),
    ({"days": [{"date": "25/12/2026", "name": "Christmas Day"}]}, "Day 1: date must be YYYY-MM-DD"),
    ({"days": [{"date": "20261225", "name": "Christmas Day"}]}, "Day 1: date must be YYYY-MM-DD"),
    ({"days": [{"date": "2026-02-30", "name": "Nope"}]}, "Day 1: 2026-02-30 is not a date"),
    ({"days": [{"date": "2026-12-25", "name": ""}]}, "Day 1: name must be text"),
    ({"days": [{"date": "2026-12-25", "name": "x" * 101}]}, "Day 1: name must be text"),
    ({"days": [{"date": "2026-12-25"}]}, "Day 1: name must be text"),
    (
        {"days": [{"date": "2026-12-25", "name": "Christmas Day"}, {"date": "2026-12-25", "name": "Again"}]},
        "2026-12-25 is listed more than once",
    ),
    ({"days": [{"date": "2026-12-25", "name": "Christmas Day"}, {"date": "2026-13-01", "name": "x"}]}, "Day 2"),
]


async def test_every_bad_holiday_list_is_refused_and_adds_nothing(server: LiveServer, db: asyncpg.Pool) -> None:
    admin = await as_user(server, "admin")
    async with httpx.AsyncClient(base_url=server.base) as c:
        for body, message in BAD_HOLIDAYS:
            r = await c.post("/api/holidays", json=body, headers=admin)
            assert r.status_code == 400, (body, r.text)
            assert message in r.json()["error"], (body, r.json())
    assert await db.fetchval("SELECT count(*) FROM holidays WHERE tenant_id = $1", server.settings.tenant) == 0


async def test_the_openapi_document_lists_every_json_api_route(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    served = {
        (route.path, method.lower())
        for route in routes()
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert {(path, method) for path, method in served if method not in paths.get(path, {})} == set()
