"""A caller who presses 1 is called back when it is their turn, keeping their place in the queue.

Twilio's REST API is a local stand-in (``CONTACTD_TWILIO_API_URL``): it records the call placed and
gives it a CallSid; the test then plays Twilio, fetching the call's TwiML and opening its media stream.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from channels.voice.audio import Mulaw
from channels.voice.prompts import load
from tests.channels.twilio_api import NUMBER, TwilioApi, api, server
from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import conversation_of
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.contactd.test_hours import close_benefits_today
from tests.helpers import Client, typed

__all__ = ["api", "server"]  # fixtures, from tests.channels.twilio_api


async def test_a_caller_who_presses_1_is_called_back_at_their_turn_and_talks_to_the_adviser(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid))
    stream = await twilio.stream(sid, cid)
    offer = Mulaw().decode(load("en", "callback_offer"))
    for _ in range(150):
        if offer in stream.heard:
            break
        await asyncio.sleep(0.1)
    assert offer in stream.heard, "the waiting caller is not told they may be called back"
    await stream.dtmf("1")
    await asyncio.wait_for(stream.closed.wait(), 10)  # told they will be called back, then the line clears
    assert Mulaw().decode(load("en", "callback_confirm")) in stream.heard
    r = await twilio.post("/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"})
    assert r.status_code == 204
    row = await db.fetchrow("SELECT state, callback_number FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert dict(row) == {"state": "queued", "callback_number": "+447700900123"}  # still in the queue

    agent = await server.agent("agent1")
    await agent.take(cid)
    peer = AdviserPeer(1000.0)
    await agent.send({"type": "rtc.offer", "conversation_id": cid, "sdp": await peer.offer()})  # kept meanwhile
    await agent.expect(typed("call.state", conversation_id=cid, state="dialling"))
    assert len(api.placed) == 1
    placed = api.placed[0]
    assert (placed["To"], placed["From"]) == ("+447700900123", "+441632960000")
    assert placed["Url"] == f"{server.settings.public_url}/twilio/voice?step=callback&conversation={cid}"

    out_sid = placed["Sid"]  # Twilio rings the caller; they answer; Twilio fetches the call's TwiML
    r = await twilio.post(f"/twilio/voice?step=callback&conversation={cid}", {"CallSid": out_sid})
    assert "<Stream" in r.text and "You asked us to call you back" in r.text
    back = await twilio.stream(out_sid, conversation_of(r.text))
    back.speak(440.0)
    try:
        await peer.answered((await agent.expect(typed("rtc.answer", conversation_id=cid), timeout=10))["sdp"])
        await asyncio.sleep(2.0)
        assert abs(dominant_frequency(bytes(peer.heard[-8000:])) - 440) <= 10
        assert abs(dominant_frequency(bytes(back.heard[-8000:])) - 1000) <= 10
    finally:
        await peer.close()
        await back.close()
    events = [r["type"] for r in await db.fetch("SELECT type FROM events WHERE conversation_id = $1", uuid.UUID(cid))]
    assert "callback.requested" in events and "conversation.abandoned" not in events


async def test_a_stream_for_a_call_back_nobody_placed_is_closed(server: LiveServer) -> None:
    twilio = TwilioStandIn(server)
    stream = await twilio.stream(call_sid(), str(uuid.uuid4()))
    await asyncio.wait_for(stream.closed.wait(), 5)
    assert stream.ws.close_code == 1008
    r = await twilio.post(f"/twilio/voice?step=callback&conversation={uuid.uuid4()}", {"CallSid": call_sid()})
    assert r.status_code == 200 and "<Stream" not in r.text and "<Hangup" in r.text


async def test_a_caller_who_rings_while_closed_can_be_called_back_when_the_line_opens(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    await close_benefits_today(server, db)
    twilio, sid = TwilioStandIn(server), call_sid()
    queues = [q["name"] for q in await server.services.store.queues()]
    closed = await twilio.dial(sid, topic=str(queues.index("benefits") + 1))
    assert "We open again on" in closed and "step=when_open" in closed and "press 1" in closed
    base = {"CallSid": sid, "From": "+447700900123"}
    r = await twilio.post("/twilio/voice?step=when_open", {**base, "Digits": "1"})
    assert "We will call you back when we open" in r.text
    await twilio.post("/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"})  # they hang up
    row = await db.fetchrow(
        "SELECT id, state, callback_number, callback_at FROM conversations WHERE external_id = $1", sid
    )
    assert (row["state"], row["callback_number"]) == ("arriving", "+447700900123")
    assert row["callback_at"] > datetime.now(UTC) and row["callback_at"].astimezone(UTC).hour >= 0
    assert await server.services.lines.callbacks.due() == 0  # not before the line opens

    await db.execute("UPDATE conversations SET callback_at = now() - interval '1 second' WHERE id = $1", row["id"])
    await server.services.lines.callbacks.due()  # the line has opened: the call back joins the queue
    agent = await server.agent("agent1")  # serves benefits
    await agent.take(str(row["id"]))
    for _ in range(50):
        if api.placed:
            break
        await asyncio.sleep(0.05)
    assert [p["To"] for p in api.placed] == ["+447700900123"]


async def test_a_waiting_chat_citizen_can_be_called_back_instead_keeping_their_place(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    _, first = await server.citizen("general", "Bo")  # waiting ahead
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    for bad in ("09011 234567", "+33 1 23 45 67 89", "call me"):
        await citizen.send({"type": "callback.request", "number": bad})
        assert (await citizen.expect(typed("error")))["code"] == "bad_value"
    assert await db.fetchval("SELECT channel FROM conversations WHERE id = $1", uuid.UUID(cid)) == "chat"

    await citizen.send({"type": "callback.request", "number": "07700 900456"})
    accepted = await citizen.expect(typed("callback.accepted"))
    assert accepted["number"] == "+447700900456"
    row = await db.fetchrow("SELECT channel, callback_number FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert dict(row) == {"channel": "voice", "callback_number": "+447700900456"}
    store = server.services.router_store
    assert await store.position("general", cid) == 2  # behind Bo still
    live = await store.conversation(cid)
    assert live is not None and live.channel == "voice"

    agent = await server.agent("agent1")
    offers = [await agent.expect(typed("offer")) for _ in range(2)]  # a chat slot and a call are both free
    assert [(o["conversation_id"], o["channel"]) for o in offers] == [
        (first["conversation_id"], "chat"),
        (cid, "voice"),
    ]
    agent.rewind()
    await agent.take(cid)
    for _ in range(50):
        if api.placed:
            break
        await asyncio.sleep(0.05)
    assert [(p["To"], p["From"]) for p in api.placed] == [("+447700900456", NUMBER)]


async def test_a_chat_that_became_a_call_back_cannot_be_resumed_or_asked_twice(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    citizen, queued = await server.citizen("general", "Ann")
    cid, token = queued["conversation_id"], queued["resume_token"]
    await citizen.send({"type": "callback.request", "number": "07700 900456"})
    await citizen.expect(typed("callback.accepted"))
    await citizen.send({"type": "callback.request", "number": "07700 900456"})  # a second ask changes nothing
    assert (await citizen.expect(typed("error")))["code"] == "conflict"
    live = await server.services.router_store.conversation(cid)
    assert live is not None and live.channel == "voice"
    again = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    await again.send({"type": "chat.resume", "resume_token": token})
    assert (await again.expect(typed("chat.resumed")))["state"] == "ended"


async def test_a_caller_from_a_number_we_may_not_ring_is_not_offered_a_call_back(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid, caller="+88213123456"))  # abroad (and easily forged)
    stream = await twilio.stream(sid, cid)
    try:
        said = Mulaw().decode(load("en", "thanks"))
        for _ in range(150):
            if said in stream.heard:
                break
            await asyncio.sleep(0.1)
        assert said in stream.heard and Mulaw().decode(load("en", "callback_offer")) not in stream.heard
        await stream.dtmf("1")
        await asyncio.sleep(0.5)
        assert not stream.closed.is_set()
        assert await db.fetchval("SELECT callback_number FROM conversations WHERE id = $1", uuid.UUID(cid)) is None
    finally:
        await stream.close()
    assert api.placed == []


async def test_a_call_back_twilio_refuses_goes_back_to_its_place_in_the_queue(
    server: LiveServer, api: TwilioApi, db: asyncpg.Pool
) -> None:
    citizen, queued = await server.citizen("general", "Ann")
    cid = queued["conversation_id"]
    await citizen.send({"type": "callback.request", "number": "07700 900456"})
    await citizen.expect(typed("callback.accepted"))
    api.server.should_exit = True  # Twilio's API is down
    await asyncio.sleep(0.3)
    agent = await server.agent("agent1")
    await agent.take(cid)
    error = await agent.expect(typed("error"), timeout=15)
    assert error["code"] == "unavailable" and "back in the queue" in error["message"]
    await agent.expect(typed("conversation.closed", conversation_id=cid))
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
    assert await server.services.router_store.position("general", cid) == 1
