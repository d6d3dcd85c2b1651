"""A supervisor on a live call from the queue board: listens (hears both sides, nobody hears them),
whispers (the adviser hears them, the caller does not), barges in (everyone hears them), and leaves.

The caller (Twilio stand-in) plays 440 Hz, the adviser 1 kHz, the supervisor 700 Hz: which tones are in
what each one hears says who hears whom.
"""

from __future__ import annotations

import asyncio

from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import share
from tests.channels.voice.test_call import answer, conversation_of
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.helpers import Client, login, typed

CALLER, ADVISER, SUPERVISOR = 440.0, 1000.0, 700.0
HALF_SECOND = 8000  # bytes of 8 kHz 16-bit PCM


def recent(buffer: bytearray) -> bytes:
    return bytes(buffer[-HALF_SECOND:])


async def test_a_supervisor_listens_whispers_and_barges_into_a_call(server: LiveServer) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    agent = await server.agent("agent1")
    cid = conversation_of(await twilio.dial(sid, topic=""))
    stream = await twilio.stream(sid, cid)
    stream.speak(CALLER)
    adviser, supervisor = AdviserPeer(ADVISER), AdviserPeer(SUPERVISOR)
    board = await Client.connect(server.ws("/ws/board"), await login(server.base, "supervisor"), server.base)
    try:
        await answer(agent, cid, adviser)
        await board.send({"type": "monitor.start", "conversation_id": cid})
        started = await board.expect(typed("monitor.started", conversation_id=cid))
        assert started["channel"] == "voice" and all("urls" in s for s in started["ice_servers"])
        offer = {"type": "monitor.rtc.offer", "conversation_id": cid, "mode": "listen", "sdp": await supervisor.offer()}
        await board.send(offer)
        reply = await board.expect(typed("monitor.rtc.answer", conversation_id=cid), timeout=10)
        assert reply["mode"] == "listen"
        await supervisor.answered(reply["sdp"])
        await asyncio.sleep(2.0)
        heard = recent(supervisor.heard)
        assert share(heard, CALLER) > 0.2 and share(heard, ADVISER) > 0.2, "the supervisor hears both sides"
        assert share(recent(adviser.heard), SUPERVISOR) < 0.02 and share(recent(stream.heard), SUPERVISOR) < 0.02
        assert not any(f["type"] == "call.supervisor" for f in agent.seen)  # listening is silent

        await board.send({"type": "monitor.mode", "conversation_id": cid, "mode": "whisper"})
        await board.expect(typed("monitor.mode", conversation_id=cid, mode="whisper"))
        told = await agent.expect(typed("call.supervisor", conversation_id=cid))
        assert (told["mode"], told["name"]) == ("whisper", "Sam Taylor")
        await asyncio.sleep(1.5)
        assert share(recent(adviser.heard), SUPERVISOR) > 0.2 and share(recent(adviser.heard), CALLER) > 0.2
        assert share(recent(stream.heard), SUPERVISOR) < 0.02, "a whisper does not reach the caller"

        await board.send({"type": "monitor.mode", "conversation_id": cid, "mode": "barge"})
        await agent.expect(typed("call.supervisor", conversation_id=cid, mode="barge"))
        await asyncio.sleep(1.5)
        assert share(recent(stream.heard), SUPERVISOR) > 0.2 and share(recent(stream.heard), ADVISER) > 0.2

        await board.send({"type": "monitor.stop", "conversation_id": cid})
        await agent.expect(typed("call.supervisor", conversation_id=cid, mode="listen"))
        await asyncio.sleep(1.0)
        assert share(recent(stream.heard), SUPERVISOR) < 0.02 and share(recent(adviser.heard), SUPERVISOR) < 0.02
        assert abs(share(recent(stream.heard), ADVISER) - 1) < 0.2  # the call goes on as before
    finally:
        await supervisor.close()
        await adviser.close()
        await stream.close()
        await board.close()


async def test_a_supervisor_cannot_listen_to_a_call_nobody_has_answered(server: LiveServer) -> None:
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid, topic=""))
    stream = await twilio.stream(sid, cid)
    supervisor = AdviserPeer(SUPERVISOR)
    board = await Client.connect(server.ws("/ws/board"), await login(server.base, "admin"), server.base)
    try:
        offer = {"type": "monitor.rtc.offer", "conversation_id": cid, "mode": "listen", "sdp": await supervisor.offer()}
        await board.send(offer)
        await board.expect(typed("error", code="conflict"))
        await board.send({"type": "monitor.mode", "conversation_id": cid, "mode": "barge"})
        await board.expect(typed("error", code="conflict"))  # not listening to it
    finally:
        await supervisor.close()
        await stream.close()
        await board.close()
