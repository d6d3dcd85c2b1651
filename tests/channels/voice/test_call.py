"""A phone call end to end: a Twilio stand-in rings in and streams a 440 Hz caller; an aiortc adviser
accepts it in the console protocol, hears 440 Hz, and its 1 kHz comes back to Twilio as μ-law."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from channels.voice.audio import Mulaw
from channels.voice.prompts import load
from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.contactd.test_hours import close_benefits_today
from tests.helpers import UNIT, Client, typed


def conversation_of(twiml: str) -> str:
    """The conversation id the menu's TwiML hands to the media stream."""
    marker = 'name="conversation_id" value="'
    return twiml[twiml.index(marker) + len(marker) :].split('"', 1)[0]


async def answer(agent: Client, cid: str, peer: AdviserPeer) -> None:
    """As the console does: take the offered call, then negotiate its audio."""
    assigned = await agent.take(cid)
    assert assigned["channel"] == "voice" and assigned["call"]["state"] == "ringing"
    await agent.send({"type": "rtc.offer", "conversation_id": cid, "sdp": await peer.offer()})
    await peer.answered((await agent.expect(typed("rtc.answer", conversation_id=cid), timeout=10))["sdp"])
    await agent.expect(typed("call.state", conversation_id=cid, state="connected"))


@pytest.mark.parametrize("codec", ["audio/opus", "audio/PCMU"])
async def test_a_caller_and_an_adviser_hear_each_other(server: LiveServer, db: asyncpg.Pool, codec: str) -> None:
    """With either codec a browser offers on the adviser's leg (the node encodes the caller's audio for it)."""
    twilio, sid = TwilioStandIn(server), call_sid()
    agent = await server.agent("agent1")
    twiml = await twilio.dial(sid, topic="")
    assert "<Connect><Stream" in twiml and "/twilio/media" in twiml
    cid = conversation_of(twiml)
    stream = await twilio.stream(sid, cid)
    stream.speak(440.0)
    await asyncio.sleep(0.5)
    assert len(stream.heard) > 0  # hold audio while the call waits
    peer = AdviserPeer(1000.0, codec)
    try:
        await answer(agent, cid, peer)
        await asyncio.sleep(2.0)
        assert len(peer.heard) > 8000, "the adviser heard under half a second of the caller"
        assert abs(dominant_frequency(bytes(peer.heard[-8000:])) - 440) <= 10
        assert abs(dominant_frequency(bytes(stream.heard[-8000:])) - 1000) <= 10
        await stream.dtmf("5")
        assert (await agent.expect(typed("call.dtmf", conversation_id=cid)))["digit"] == "5"

        await agent.send({"type": "call.hangup", "conversation_id": cid})  # the adviser hangs up: the stream ends
        await agent.expect(typed("conversation.ended", conversation_id=cid))
        await asyncio.wait_for(stream.closed.wait(), 5)
    finally:
        await peer.close()
        await stream.close()
    row = await db.fetchrow("SELECT state, ended_by, channel FROM conversations WHERE id = $1", uuid.UUID(cid))
    assert dict(row) == {"state": "wrapup", "ended_by": "agent", "channel": "voice"}


async def test_a_waiting_caller_hears_their_place_in_the_queue(server: LiveServer) -> None:
    server.services.lines.first_announcement_s = 0.2
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid, language="2"))  # Welsh; nobody is signed in to give a wait
    stream = await twilio.stream(sid, cid)
    try:
        expected = Mulaw().decode(b"".join(load("cy", name) for name in ("position", "n1", "in_queue")))
        for _ in range(80):
            if expected in stream.heard:
                break
            await asyncio.sleep(0.1)
        assert expected in stream.heard, "the caller did not hear 'Rydych chi'n rhif 1 yn y ciw'"
    finally:
        await stream.close()


async def test_a_caller_who_hangs_up_while_waiting_has_abandoned(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid))
    stream = await twilio.stream(sid, cid)
    await asyncio.sleep(0.3)
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
    await stream.hang_up()
    r = await twilio.post("/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"})
    assert r.status_code == 204
    for _ in range(50):
        if await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "abandoned":
            break
        await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "abandoned"
    assert await server.services.router_store.conversation(cid) is None


async def test_a_webhook_without_twilios_signature_gets_403_and_records_nothing(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    for forged in (
        await twilio.post("/twilio/voice", {"CallSid": sid, "From": "+447700900123"}, signed=False),
        await TwilioStandIn(server, "someone-elses-token").post("/twilio/voice", {"CallSid": sid}),
        await twilio.post("/twilio/voice/status", {"CallSid": sid, "CallStatus": "completed"}, signed=False),
    ):
        assert forged.status_code == 403
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE external_id = $1", sid) == 0


async def test_the_same_call_ringing_twice_is_recorded_once(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    for _ in range(2):  # Twilio retries a webhook it got no answer to
        r = await twilio.post("/twilio/voice", {"CallSid": sid, "From": "+447700900123"})
        assert r.status_code == 200 and "<Gather" in r.text and "press 1" in r.text
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE external_id = $1", sid) == 1


async def test_a_stream_for_a_call_we_did_not_issue_is_closed(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid))
    for other_sid, other_cid in ((call_sid(), cid), (sid, str(uuid.uuid4()))):
        stream = await twilio.stream(other_sid, other_cid)
        await asyncio.wait_for(stream.closed.wait(), 5)
        assert stream.ws.close_code == 1008
    assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "arriving"
    with pytest.raises(Exception, match="403"):
        await twilio.stream(sid, cid, signed=False)  # the upgrade itself is refused


async def test_a_caller_choosing_welsh_and_a_topic_waits_in_that_queue(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    queues = [q["name"] for q in await server.services.store.queues()]
    twiml = await twilio.dial(sid, language="2", topic=str(queues.index("benefits") + 1))
    assert 'language="cy-GB"' in twiml
    row = await db.fetchrow(
        "SELECT c.language, q.name FROM conversations c JOIN queues q ON q.id = c.queue_id WHERE c.external_id = $1",
        sid,
    )
    assert dict(row) == {"language": "cy", "name": "benefits"}


async def test_on_hold_the_caller_hears_hold_audio_and_a_blind_transfer_reaches_the_next_adviser(
    server: LiveServer,
) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    first = await server.agent("agent1")
    cid = conversation_of(await twilio.dial(sid))
    stream = await twilio.stream(sid, cid)
    stream.speak(440.0)
    peer, second_peer = AdviserPeer(1000.0), AdviserPeer(700.0)
    try:
        await answer(first, cid, peer)
        await asyncio.sleep(1.0)
        assert abs(dominant_frequency(bytes(stream.heard[-4000:])) - 1000) <= 10
        await first.send({"type": "call.hold", "conversation_id": cid})
        await first.expect(typed("call.state", conversation_id=cid, state="held"))
        mark = len(stream.heard)
        await asyncio.sleep(1.5)
        assert abs(dominant_frequency(bytes(stream.heard[mark:])) - 1000) > 50  # hold audio, not the adviser
        heard_before = len(peer.heard)
        await asyncio.sleep(0.5)
        assert abs(dominant_frequency(bytes(peer.heard[heard_before:]) or b"\0\0" * 100) - 440) > 50 or not any(
            peer.heard[heard_before:]
        )  # the adviser hears nothing of the caller while they are held
        await first.send({"type": "call.resume", "conversation_id": cid})
        await first.expect(typed("call.state", conversation_id=cid, state="connected"))

        await first.send({"type": "transfer", "conversation_id": cid, "queue": "benefits", "reason": "benefits claim"})
        await first.expect(typed("conversation.closed", conversation_id=cid))
        second = await server.agent("agent2")  # serves benefits
        await answer(second, cid, second_peer)
        await asyncio.sleep(1.5)
        assert abs(dominant_frequency(bytes(stream.heard[-4000:])) - 700) <= 10
        assert abs(dominant_frequency(bytes(second_peer.heard[-4000:])) - 440) <= 10
    finally:
        await peer.close()
        await second_peer.close()
        await stream.close()


async def test_a_call_outside_opening_hours_hears_when_the_line_opens_and_is_recorded(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    await close_benefits_today(server, db)
    twilio, sid = TwilioStandIn(server), call_sid()
    queues = [q["name"] for q in await server.services.store.queues()]
    twiml = await twilio.dial(sid, language="1", topic=str(queues.index("benefits") + 1))
    assert "<Stream" not in twiml and "<Hangup" in twiml
    assert "Sorry, we are closed at the moment. We open again on" in twiml
    row = await db.fetchrow("SELECT state, ended_by FROM conversations WHERE external_id = $1", sid)
    assert dict(row) == {"state": "closed", "ended_by": "system"}


async def test_a_second_stream_for_the_same_call_is_refused(server: LiveServer, db: asyncpg.Pool) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid))
    first = await twilio.stream(sid, cid)
    try:
        # Once the first stream is the call's (the caller waits in the queue, hearing hold audio), a replayed
        # or duplicated start is refused. (Two starts at the same instant: whichever comes first wins.)
        for _ in range(int(100 * UNIT)):
            if (
                first.heard
                and await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
            ):
                break
            await asyncio.sleep(0.1)
        replayed = await twilio.stream(sid, cid)  # a replayed (or duplicated) start
        await asyncio.wait_for(replayed.closed.wait(), 15)
        assert replayed.ws.close_code == 1008
        await asyncio.sleep(0.3)
        assert not first.closed.is_set()  # the call itself carries on
        assert await db.fetchval("SELECT state FROM conversations WHERE id = $1", uuid.UUID(cid)) == "queued"
    finally:
        await first.close()
