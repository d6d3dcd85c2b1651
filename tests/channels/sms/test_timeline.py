"""One citizen, one timeline: a chat citizen proves their mobile with a texted code and joins the record
their texts belong to; supervisors merge and split records (audited), and advisers see the result at once."""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import httpx

from tests.channels.twilio_api import TwilioApi, api, server
from tests.channels.voice.twilio import TwilioStandIn
from tests.conftest import LiveServer
from tests.helpers import Client, login, typed

__all__ = ["api", "server"]  # fixtures, from tests.channels.twilio_api
MOBILE, DEPARTMENT = "+447700900321", "+441632960000"


def text(body: str, number: str = MOBILE) -> dict[str, str]:
    return {"MessageSid": "SM" + uuid.uuid4().hex, "From": number, "To": DEPARTMENT, "Body": body}


async def code_texted(api: TwilioApi, count: int) -> str:
    for _ in range(100):
        if len(api.texts) >= count:
            break
        await asyncio.sleep(0.05)
    found = re.search(r"\b(\d{6})\b", api.texts[count - 1]["Body"])
    assert found, api.texts
    return found.group(1)


async def closed_text_conversation(server: LiveServer, db: asyncpg.Pool, agent: Client, number: str) -> str:
    await TwilioStandIn(server).post("/twilio/sms", text("Is my bin day changing?", number))
    cid = str(
        await db.fetchval(
            "SELECT c.id FROM conversations c WHERE c.tenant_id = $1 AND c.channel = 'sms' AND c.contact = $2",
            server.settings.tenant,
            number,
        )
    )
    await agent.take(cid)
    await agent.send({"type": "conversation.end", "conversation_id": cid})
    await agent.send({"type": "wrapup.done", "conversation_id": cid, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=cid))
    return cid


async def test_a_chat_citizen_who_proves_their_mobile_joins_the_record_of_their_texts(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    agent = await server.agent("agent1")
    texted = await closed_text_conversation(server, db, agent, MOBILE)
    citizen, queued = await server.citizen("general")
    chat = queued["conversation_id"]
    assigned = await agent.take(chat)
    assert assigned["history"] == []  # a stranger, so far

    await citizen.send({"type": "verify.start", "phone": "0800 123 456"})
    assert (await citizen.expect(typed("error")))["code"] == "bad_value"  # not a mobile: nothing texted
    assert api.texts == []
    await citizen.send({"type": "verify.start", "phone": "07700 900321"})
    assert (await citizen.expect(typed("verify.sent")))["to"].endswith("321")
    code = await code_texted(api, 1)
    assert api.texts[0]["To"] == MOBILE
    await citizen.send({"type": "verify.check", "code": "000000" if code != "000000" else "111111"})
    wrong = await citizen.expect(typed("error"))
    assert wrong["code"] == "wrong_code" and "4 tries left" in wrong["message"]
    await citizen.send({"type": "verify.check", "code": code})
    assert (await citizen.expect(typed("verify.done")))["phone"].endswith("321")

    # The adviser sees the earlier texts at once, and may open them: they serve this citizen now.
    shown = await agent.expect(typed("conversation.history", conversation_id=chat))
    assert [(h["id"], h["channel"]) for h in shown["history"]] == [(texted, "sms")]
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "agent1")
        earlier = (await web.get(f"/api/conversations/{texted}")).json()
        assert [m["text"] for m in earlier["transcript"]] == ["Is my bin day changing?"]
        web.headers["Cookie"] = await login(server.base, "agent2")
        assert (await web.get(f"/api/conversations/{texted}")).status_code == 404
    record = await db.fetchval("SELECT citizen_id FROM conversations WHERE id = $1", uuid.UUID(chat))
    assert record == await db.fetchval("SELECT citizen_id FROM conversations WHERE id = $1", uuid.UUID(texted))

    # Texting later: the adviser of the new text sees the chat in the same timeline.
    await agent.send({"type": "conversation.end", "conversation_id": chat})
    await agent.send({"type": "wrapup.done", "conversation_id": chat, "disposition": "resolved"})
    await agent.expect(typed("conversation.closed", conversation_id=chat))
    await TwilioStandIn(server).post("/twilio/sms", text("Me again"))
    offer = await agent.expect(typed("offer", channel="sms"))
    agent.rewind()
    again = await agent.take(offer["conversation_id"])
    assert [h["channel"] for h in again["history"]] == ["chat", "sms"]


async def test_codes_are_limited_and_expire_with_their_tries(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    citizen, _ = await server.citizen("general")
    for _ in range(3):
        await citizen.send({"type": "verify.start", "phone": "07700900321"})
        await citizen.expect(typed("verify.sent"))
    await citizen.send({"type": "verify.start", "phone": "07700900321"})
    assert (await citizen.expect(typed("error")))["code"] == "too_many"  # a fourth text is not sent
    assert len(api.texts) == 3
    for _ in range(5):
        await citizen.send({"type": "verify.check", "code": "99999x"})
        await citizen.expect(typed("error", code="wrong_code"))
    await citizen.send({"type": "verify.check", "code": await code_texted(api, 3)})
    assert (await citizen.expect(typed("error")))["code"] == "too_many"  # even the right code, after five wrong
    await citizen.send({"type": "verify.check", "code": await code_texted(api, 3)})
    assert (await citizen.expect(typed("error")))["code"] == "expired"
    linked = "SELECT count(*) FROM citizen_identities WHERE tenant_id = $1 AND value = $2"
    assert await db.fetchval(linked, server.settings.tenant, MOBILE) == 0


async def test_a_supervisor_merges_two_records_and_splits_one_off_again(server: LiveServer, db: asyncpg.Pool) -> None:
    agent = await server.agent("agent1")
    first = await closed_text_conversation(server, db, agent, MOBILE)
    second = await closed_text_conversation(server, db, agent, "+447700900999")
    one, two = [
        str(await db.fetchval("SELECT citizen_id FROM conversations WHERE id = $1", uuid.UUID(c)))
        for c in (first, second)
    ]
    async with httpx.AsyncClient(base_url=server.base) as web:
        assert (await web.post(f"/api/citizens/{one}/merge", json={"from": two})).status_code == 401
        web.headers["Cookie"] = await login(server.base, "agent1")
        assert (await web.post(f"/api/citizens/{one}/merge", json={"from": two})).status_code == 403
        assert (await web.get("/api/citizens", params={"phone": MOBILE})).status_code == 403
        web.headers["Cookie"] = await login(server.base, "supervisor")
        found = (await web.get("/api/citizens", params={"phone": MOBILE})).json()["citizen"]
        assert found["id"] == one and found["phones"] == [MOBILE]
        assert (await web.post(f"/api/citizens/{one}/merge", json={"from": "nope"})).status_code == 400
        assert (await web.post(f"/api/citizens/{one}/merge", json={"from": one})).status_code == 409
        assert (await web.post(f"/api/citizens/{one}/merge", json={"from": str(uuid.uuid4())})).status_code == 404
        merged = await web.post(f"/api/citizens/{one}/merge", json={"from": two, "reason": "same person, new phone"})
        assert merged.status_code == 200 and merged.json()["moved"] == 1
        record = merged.json()["citizen"]
        assert sorted(record["phones"]) == [MOBILE, "+447700900999"]
        assert {c["id"] for c in record["conversations"]} == {first, second}
        assert (await web.post(f"/api/citizens/{two}/merge", json={"from": one})).status_code == 404  # merged away
        # A text from either number now joins the one record.
        await TwilioStandIn(server).post("/twilio/sms", text("From my new phone", "+447700900999"))
        offer = await agent.expect(typed("offer", channel="sms"))
        agent.rewind()
        assigned = await agent.take(offer["conversation_id"])
        assert sorted(h["id"] for h in assigned["history"]) == sorted([first, second])

        # It was two people after all: the second number and its conversations go to a new record.
        moved = [second, offer["conversation_id"]]
        bad = await web.post(f"/api/citizens/{one}/split", json={"conversations": [str(uuid.uuid4())]})
        assert bad.status_code == 409
        everything = [c["id"] for c in record["conversations"]] + [offer["conversation_id"]]
        assert (await web.post(f"/api/citizens/{one}/split", json={"conversations": everything})).status_code == 409
        split = await web.post(f"/api/citizens/{one}/split", json={"conversations": moved, "phones": ["+447700900999"]})
        assert split.status_code == 200
        new = split.json()["citizen"]
        assert new["phones"] == ["+447700900999"] and {c["id"] for c in new["conversations"]} == set(moved)
    shown = await agent.expect(typed("conversation.history", conversation_id=offer["conversation_id"]))
    assert [h["id"] for h in shown["history"]] == [second]  # the adviser's view follows the split
    audited = await db.fetch(
        "SELECT type, data->>'by' AS by FROM events WHERE tenant_id = $1 AND type LIKE 'citizen.%' ORDER BY id",
        server.settings.tenant,
    )
    supervisor = await db.fetchval(
        "SELECT id FROM users WHERE username = 'supervisor' AND tenant_id = $1", server.settings.tenant
    )
    assert [(r["type"], r["by"]) for r in audited] == [
        ("citizen.merged", str(supervisor)),
        ("citizen.split", str(supervisor)),
    ]


async def test_a_remembered_chat_citizen_can_link_a_number_already_known(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    agent = await server.agent("agent1")
    await closed_text_conversation(server, db, agent, MOBILE)
    twilio = TwilioStandIn(server)
    await twilio.post("/twilio/sms", text("STOP"))  # that number said STOP
    key = "k" * 32  # the citizen ticked "Remember this device"
    citizen, queued = await server.citizen("general", citizen_key=key)
    await agent.take(queued["conversation_id"])
    await citizen.send({"type": "verify.start", "phone": MOBILE})
    await citizen.expect(typed("verify.sent"))
    await citizen.send({"type": "verify.check", "code": await code_texted(api, 1)})
    await citizen.expect(typed("verify.done"))
    record = await db.fetchrow(
        "SELECT z.id, z.key_hash IS NOT NULL AS remembered, z.sms_opted_out FROM conversations c"
        " JOIN citizens z ON z.id = c.citizen_id WHERE c.id = $1",
        uuid.UUID(queued["conversation_id"]),
    )
    assert record["remembered"] and record["sms_opted_out"]  # the device key moved; the STOP still holds

    # Split the number back off: its STOP goes with it.
    texted = [
        str(r["id"])
        for r in await db.fetch("SELECT id FROM conversations WHERE citizen_id = $1 AND channel = 'sms'", record["id"])
    ]
    async with httpx.AsyncClient(base_url=server.base) as web:
        web.headers["Cookie"] = await login(server.base, "supervisor")
        # "+447…" unescaped in a query string arrives as " 447…": still found
        found = await web.get(f"/api/citizens?phone={MOBILE}")
        assert found.status_code == 200 and found.json()["citizen"]["id"] == str(record["id"])
        split = await web.post(
            f"/api/citizens/{record['id']}/split", json={"conversations": texted, "phones": [MOBILE]}
        )
        assert split.status_code == 200
    new = uuid.UUID(split.json()["citizen"]["id"])
    assert await db.fetchval("SELECT sms_opted_out FROM citizens WHERE id = $1", new)


async def test_a_chat_that_has_ended_cannot_link_a_number(server: LiveServer, api: TwilioApi) -> None:
    agent = await server.agent("agent1")
    citizen, queued = await server.citizen("general")
    await agent.take(queued["conversation_id"])
    await agent.send({"type": "conversation.end", "conversation_id": queued["conversation_id"]})
    await citizen.expect(typed("chat.ended"))
    await citizen.send({"type": "verify.start", "phone": MOBILE})
    assert (await citizen.expect(typed("error")))["code"] == "conflict"
    assert api.texts == []
