"""Texts: a citizen texts in and an adviser replies from the console; webhooks signed, stored once,
their statuses kept in order; STOP and START honoured. Twilio is the stand-ins (webhooks signed with
the auth token; the REST API served locally)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from tests.channels.twilio_api import TwilioApi, api, server
from tests.channels.voice.twilio import TwilioStandIn
from tests.conftest import LiveServer
from tests.helpers import typed

__all__ = ["api", "server"]  # fixtures, from tests.channels.twilio_api
CITIZEN, DEPARTMENT = "+447700900777", "+441632960000"


def text(body: str, sid: str | None = None) -> dict[str, str]:
    return {"MessageSid": sid or "SM" + secrets.token_hex(16), "From": CITIZEN, "To": DEPARTMENT, "Body": body}


async def sent_to(api: TwilioApi, count: int) -> list[dict[str, str]]:
    for _ in range(100):
        if len(api.texts) >= count:
            break
        await asyncio.sleep(0.05)
    return api.texts


async def test_a_citizen_texts_in_and_an_adviser_replies_by_text(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    twilio = TwilioStandIn(server)
    first = text("Hello, is my bin day changing?")
    for _ in range(2):  # Twilio retries a webhook it got no answer to: stored once
        r = await twilio.post("/twilio/sms", first)
        assert r.status_code == 200 and r.text.endswith("<Response></Response>")
    row = await db.fetchrow(
        "SELECT id, channel, state FROM conversations WHERE tenant_id = $1 AND channel = 'sms'", server.settings.tenant
    )
    assert (row["channel"], row["state"]) == ("sms", "queued")
    cid = str(row["id"])
    assert await db.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", row["id"]) == 1

    agent = await server.agent("agent1")
    assigned = await agent.take(cid)
    assert assigned["channel"] == "sms" and [m["text"] for m in assigned["transcript"]] == [first["Body"]]
    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "Yes, from Monday."})
    assert (await agent.expect(typed("message.status", id="a1")))["status"] == "queued"
    [reply] = await sent_to(api, 1)
    assert (reply["To"], reply["From"], reply["Body"]) == (CITIZEN, DEPARTMENT, "Yes, from Monday.")
    assert reply["StatusCallback"] == f"{server.settings.public_url}/twilio/sms/status"

    for status in ("delivered", "sent"):  # out of order: the later "sent" never takes it backwards
        r = await twilio.post("/twilio/sms/status", {"MessageSid": reply["Sid"], "MessageStatus": status})
        assert r.status_code == 204
    assert (await agent.expect(typed("message.status", id="a1", status="delivered")))["conversation_id"] == cid
    assert await db.fetchval("SELECT delivery FROM messages WHERE external_id = $1", reply["Sid"]) == "delivered"

    await twilio.post("/twilio/sms", text("Thank you!"))  # the same conversation continues
    assert (await agent.expect(typed("message", text="Thank you!")))["conversation_id"] == cid


async def test_unsigned_texts_are_refused_and_record_nothing(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio = TwilioStandIn(server)
    assert (await twilio.post("/twilio/sms", text("forged"), signed=False)).status_code == 403
    assert (await twilio.post("/twilio/sms/status", {"MessageSid": "SM" + "0" * 32}, signed=False)).status_code == 403
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant) == 0


async def test_stop_means_no_more_texts_until_start(server: LiveServer, api: TwilioApi, db: asyncpg.Pool) -> None:
    twilio = TwilioStandIn(server)
    await twilio.post("/twilio/sms", text("Can you call me about my claim?"))
    cid = str(await db.fetchval("SELECT id FROM conversations WHERE tenant_id = $1", server.settings.tenant))
    agent = await server.agent("agent1")
    await agent.take(cid)
    await twilio.post("/twilio/sms", text("STOP"))
    note = await agent.expect(typed("message", conversation_id=cid, **{"from": "system"}))
    assert note["text"].startswith("The citizen texted STOP")
    await agent.send({"type": "message", "conversation_id": cid, "id": "a1", "text": "We will write instead."})
    assert (await agent.expect(typed("message.status", id="a1")))["status"] == "opted_out"
    await asyncio.sleep(0.2)
    assert api.texts == []
    await twilio.post("/twilio/sms", text("start"))
    await agent.send({"type": "message", "conversation_id": cid, "id": "a2", "text": "Welcome back."})
    assert (await agent.expect(typed("message.status", id="a2")))["status"] == "queued"
    assert [t["Body"] for t in await sent_to(api, 1)] == ["Welcome back."]
    events = {r["type"] for r in await db.fetch("SELECT type FROM events WHERE tenant_id = $1", server.settings.tenant)}
    assert {"sms.opted_out", "sms.opted_in"} <= events


async def test_the_adviser_sees_the_citizens_earlier_calls_and_texts(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio = TwilioStandIn(server)
    await twilio.post("/twilio/sms", text("First question"))
    first = str(await db.fetchval("SELECT id FROM conversations WHERE tenant_id = $1", server.settings.tenant))
    agent = await server.agent("agent1")
    await agent.take(first)
    await agent.send({"type": "conversation.end", "conversation_id": first})
    await agent.expect(typed("conversation.ended", conversation_id=first))
    await agent.send({"type": "wrapup.done", "conversation_id": first, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=first))
    sid = "CA" + secrets.token_hex(16)  # the same citizen rings in later
    await twilio.post("/twilio/voice", {"CallSid": sid, "From": CITIZEN, "To": DEPARTMENT})
    await twilio.post("/twilio/sms", text("Second question"))
    second = await agent.expect(typed("offer", channel="sms"))
    agent.rewind()
    assigned = await agent.take(second["conversation_id"])
    history = [(h["channel"], h["state"], h["agent"]) for h in assigned["history"]]
    assert history == [("voice", "arriving", None), ("sms", "closed", "Alex Morgan")]  # one citizen, every channel
