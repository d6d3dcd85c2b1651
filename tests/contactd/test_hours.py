"""Outside business hours the citizen gets a clear closed answer, and the contact is still recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from tests.conftest import LiveServer
from tests.helpers import Client, typed


async def close_benefits_today(server: LiveServer, db: asyncpg.Pool) -> None:
    """Benefits opens only on tomorrow's weekday, 09:00-10:00."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).weekday()
    await db.execute(
        "INSERT INTO queue_hours (queue_id, weekday, opens, closes) SELECT id, $2, '09:00', '10:00' FROM queues"
        " WHERE tenant_id = $1 AND name = 'benefits'",
        server.settings.tenant,
        tomorrow,
    )
    server.services.conversations.hours = await server.services.queue_settings.queue_hours()


async def test_a_chat_outside_hours_is_answered_closed_and_kept(server: LiveServer, db: asyncpg.Pool) -> None:
    await close_benefits_today(server, db)
    citizen = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await citizen.send({"type": "chat.start", "queue": "benefits", "name": "Ann", "language": "cy"})
    closed = await citizen.expect(typed("chat.closed"))
    assert closed["reason"] == "outside_hours" and closed["message"].startswith("Mae'n ddrwg gennym")
    opens = datetime.fromisoformat(closed["opens_at"])
    assert opens > datetime.now(UTC) and opens.hour == 9
    row = await db.fetchrow(
        "SELECT state, ended_by FROM conversations WHERE id = $1", uuid.UUID(closed["conversation_id"])
    )
    assert dict(row) == {"state": "closed", "ended_by": "system"}
    assert await server.services.router_store.waiting("benefits") == []
    await citizen.send({"type": "message", "id": "m1", "text": "hello?"})
    assert (await citizen.expect(typed("error")))["code"] == "conflict"
    async with httpx.AsyncClient(base_url=server.base) as c:
        topics = {q["name"]: q for q in (await c.get("/api/queues")).json()["queues"]}
    assert topics["benefits"]["open"] is False and topics["benefits"]["opens_at"] == closed["opens_at"]
    assert topics["general"]["open"] is True and topics["general"]["opens_at"] is None


async def test_uk_bank_holidays_are_imported_from_the_gov_uk_format(
    server_urls: tuple[str, str], tmp_path: Path, department: str, db: asyncpg.Pool
) -> None:
    doc = {
        "england-and-wales": {
            "division": "england-and-wales",
            "events": [
                {"title": "Christmas Day", "date": "2026-12-25", "notes": "", "bunting": True},
                {"title": "Boxing Day", "date": "2026-12-28", "notes": "Substitute day", "bunting": True},
            ],
        },
        "scotland": {"division": "scotland", "events": [{"title": "St Andrew's Day", "date": "2026-11-30"}]},
    }
    (tmp_path / "bank-holidays.json").write_text(json.dumps(doc))
    (tmp_path / "broken.json").write_text('{"england-and-wales": {"events": "nope"}}')
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTD_")}
    env.update(
        CONTACTD_DATABASE_URL=server_urls[1],
        CONTACTD_TENANT=department,
        CONTACTD_SECRET_KEY="k" * 40,
        CONTACTD_DATA_DIR=str(tmp_path / "data"),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "contactd", "holidays", *args], env=env, capture_output=True, text=True, timeout=60
        )

    ok = run("--file", str(tmp_path / "bank-holidays.json"))
    assert ok.returncode == 0 and "2 england-and-wales holidays imported" in ok.stdout
    bad = run("--file", str(tmp_path / "broken.json"))
    assert bad.returncode == 2 and "cannot read holidays" in bad.stderr
    scots = run("--file", str(tmp_path / "bank-holidays.json"), "--division", "scotland")
    assert scots.returncode == 0

    rows = await db.fetch("SELECT day, name FROM holidays WHERE tenant_id = $1 ORDER BY day", department)
    assert [(r["day"], r["name"]) for r in rows] == [
        (date(2026, 11, 30), "St Andrew's Day"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day"),
    ]
