"""The figures of a scripted day, exactly as docs/metrics.md defines them: per queue, per hour and channel
(JSON and CSV), and by language and channel (fairness)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from contactd.reports import segments
from tests.conftest import LiveServer
from tests.helpers import login, typed

DAY = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; London is on UTC in November


def at(hhmmss: str) -> datetime:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return DAY + timedelta(hours=h, minutes=m, seconds=s)


# (channel, language, queued, assigned, closed or ended, state, ended_by)
SCRIPT = [
    ("chat", "en", "09:00:00", "09:00:30", "09:10:30", "closed", "agent"),  # answered in 30 s: within 60 s
    ("chat", "en", "09:05:00", "09:07:00", "09:12:00", "closed", "agent"),  # answered in 2 min: outside
    ("chat", "en", "09:20:00", None, "09:20:40", "abandoned", "citizen"),  # gave up within 60 s
    ("chat", "en", "09:30:00", None, "09:32:00", "abandoned", "citizen"),  # gave up after 2 min
    ("voice", "cy", "10:00:00", "10:00:10", "10:05:10", "closed", "agent"),  # within 20 s
    ("voice", "cy", "10:15:00", "10:15:50", "10:20:50", "closed", "agent"),  # outside 20 s
    ("email", "en", "09:00:00", "13:00:00", "13:30:00", "closed", "agent"),  # within 8 hours
    ("chat", "en", "08:00:00", None, "08:00:00", "closed", "system"),  # closed outside hours: not offered
    ("voice", "en", "11:00:00", None, None, "arriving", None),  # still choosing a topic: not offered
]


async def script_the_day(db: asyncpg.Pool, tenant: str) -> None:
    queue = await db.fetchval("SELECT id FROM queues WHERE tenant_id = $1 AND name = 'benefits'", tenant)
    for channel, language, queued, assigned, done, state, by in SCRIPT:
        citizen = await db.fetchval(
            "INSERT INTO citizens (tenant_id, display_name, language) VALUES ($1, 'Ann', $2) RETURNING id",
            tenant,
            language,
        )
        await db.execute(
            "INSERT INTO conversations (tenant_id, channel, queue_id, citizen_id, state, language, created_at,"
            " queued_at, assigned_at, ended_at, closed_at, ended_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11)",
            tenant,
            channel,
            queue,
            citizen,
            state,
            language,
            at(queued),
            at(assigned) if assigned else None,
            at(done) if done else None,
            at(done) if done and state == "closed" else None,
            by,
        )


async def report(server: LiveServer, path: str, user: str = "supervisor", **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, user)
        return await web.get(path, params=params)


async def test_the_figures_of_a_scripted_day_are_exact(server: LiveServer, db: asyncpg.Pool) -> None:
    await script_the_day(db, server.settings.tenant)
    day = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}
    rows = (await report(server, "/api/reports/queues", interval="1d", queue="benefits", **day)).json()["rows"]
    totals = {r["channel"]: r for r in rows}
    assert totals["chat"] | {"start": None} == {
        "start": None,
        "queue": "benefits",
        "channel": "chat",
        "offered": 4,  # not the one closed outside hours
        "answered": 2,
        "abandoned": 2,
        "abandonment_pct": 50.0,
        "service_level_pct": 33.3,  # 1 within 60 s / (2 answered + 1 given up after 60 s)
        "asa_s": 75.0,  # (30 + 120) / 2
        "aht_s": 450.0,  # (600 + 300) / 2
        "avg_wait_s": 77.5,  # (30 + 120 + 40 + 120) / 4
        "p90_wait_s": 120.0,
        "max_wait_s": 120.0,
    }
    assert (totals["voice"]["offered"], totals["voice"]["service_level_pct"], totals["voice"]["asa_s"]) == (
        2,
        50.0,
        30.0,
    )
    assert (totals["email"]["service_level_pct"], totals["email"]["asa_s"], totals["email"]["aht_s"]) == (
        100.0,
        14400.0,
        1800.0,
    )

    # The board's figures for the day: every channel of the queue together.
    figures = await server.services.board.reports.queue_figures(DAY, DAY + timedelta(days=1))
    assert figures["benefits"] == {
        "offered": 7,
        "answered": 5,
        "abandoned": 2,
        "abandonment_pct": 28.6,  # 2 / 7
        "service_level_pct": 50.0,  # (chat 1 + voice 1 + email 1) / (5 answered + 1 late)
        "asa_s": 2922.0,  # (30 + 120 + 10 + 50 + 14400) / 5
        "aht_s": 660.0,  # (600 + 300 + 300 + 300 + 1800) / 5
        "avg_wait_s": 2110.0,  # 14770 / 7
        "p90_wait_s": 5832.0,  # between the 6th (120) and 7th (14400) of 7: 120 + 0.4 * 14280
        "max_wait_s": 14400.0,
    }
    assert figures["general"]["offered"] == 0 and figures["general"]["service_level_pct"] is None

    hourly = (await report(server, "/api/reports/queues", interval="1h", **day)).json()["rows"]
    assert [(r["start"][11:16], r["channel"], r["offered"]) for r in hourly] == [
        ("09:00", "chat", 4),
        ("09:00", "email", 1),
        ("10:00", "voice", 2),
    ]
    sheet = (await report(server, "/api/reports/queues", interval="1h", format="csv", **day)).text
    lines = list(csv.DictReader(io.StringIO(sheet)))
    assert [(r["channel"], r["service_level_pct"]) for r in lines] == [
        ("chat", "33.3"),
        ("email", "100.0"),
        ("voice", "50.0"),
    ]

    fair = (await report(server, "/api/reports/fairness", **day)).json()
    by_language = {r["language"]: r for r in fair["language"]}
    assert (by_language["cy"]["offered"], by_language["cy"]["avg_wait_s"], by_language["cy"]["service_level_pct"]) == (
        2,
        30.0,
        50.0,
    )
    assert (by_language["en"]["offered"], by_language["en"]["abandonment_pct"], by_language["en"]["avg_wait_s"]) == (
        5,
        40.0,
        2942.0,
    )
    assert [r["channel"] for r in fair["channel"]] == ["chat", "email", "voice"]


async def test_reports_are_for_supervisors_and_say_what_is_wrong(server: LiveServer) -> None:
    day = {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z"}
    assert (await report(server, "/api/reports/queues", "agent1", **day)).status_code == 403
    async with httpx.AsyncClient(base_url=server.base) as web:
        assert (await web.get("/api/reports/fairness", params=day)).status_code == 401
    bad = [
        {"from": "yesterday", "to": day["to"]},
        {"from": day["to"], "to": day["from"]},  # backwards
        {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},  # over a year
        {**day, "interval": "5m"},
        {**day, "channel": "fax"},
        {"from": "2026-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z", "interval": "15m"},  # too many intervals
    ]
    for params in bad:
        r = await report(server, "/api/reports/queues", **params)
        assert r.status_code == 400 and r.json()["error"], params
    assert (await report(server, "/api/reports/admin", "admin", **day)).status_code == 404
    assert (await report(server, "/api/reports/queues", "admin", **day)).json()["rows"] == []


def test_an_advisers_states_are_cut_to_the_period_and_join_repeats() -> None:
    t = [DAY + timedelta(hours=h) for h in range(24)]
    changes = [
        (t[9], "available", ""),
        (t[9], "available", ""),  # said twice: one state
        (t[12], "away", "lunch"),
        (t[13], "available", ""),
    ]
    states = segments(("offline", "disconnected"), changes, t[8], t[17])
    assert [(s["status"], s["reason"], s["from"][11:16], s["to"][11:16]) for s in states] == [
        ("offline", "disconnected", "08:00", "09:00"),
        ("available", "", "09:00", "12:00"),
        ("away", "lunch", "12:00", "13:00"),
        ("available", "", "13:00", "17:00"),
    ]
    assert segments(None, [], t[8], t[9]) == [
        {"status": "offline", "reason": "", "from": t[8].isoformat(), "to": t[9].isoformat()}
    ]


async def test_an_advisers_timeline_shows_their_states_and_contacts(server: LiveServer, db: asyncpg.Pool) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    agent = await server.agent("agent2")
    _, queued = await server.citizen("benefits")
    await agent.take(queued["conversation_id"])
    await agent.send({"type": "agent.status", "status": "away", "reason": "training"})
    await agent.expect(typed("agent.state", status="away"))
    bethan = await db.fetchval(
        "SELECT id FROM users WHERE tenant_id = $1 AND username = 'agent2'", server.settings.tenant
    )
    period = {"from": since.isoformat(), "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}
    r = await report(server, f"/api/reports/agents/{bethan}/timeline", **period)
    assert r.status_code == 200
    body = r.json()
    assert [(s["status"], s["reason"]) for s in body["states"]] == [
        ("offline", ""),
        ("available", ""),
        ("away", "training"),
    ]
    assert [(c["conversation_id"], c["channel"], c["to"]) for c in body["contacts"]] == [
        (queued["conversation_id"], "chat", None)  # still with them
    ]
    assert (await report(server, f"/api/reports/agents/{bethan}/timeline", "agent2", **period)).status_code == 403
    month = {"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}
    assert (await report(server, f"/api/reports/agents/{bethan}/timeline", **month)).status_code == 400
    assert (await report(server, "/api/reports/agents/999999/timeline", **period)).status_code == 404
