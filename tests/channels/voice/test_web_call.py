"""A call from the citizen chat page ("Call us"): the citizen's browser speaks WebRTC to the node, which
queues the call with hold audio and bridges it to the adviser's console like a phone call."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import answer
from tests.conftest import LiveServer
from tests.helpers import Client, typed


async def call_us(server: LiveServer, caller: AdviserPeer, **extra: str) -> tuple[Client, str]:
    """As the chat page's "Call us" button: offer WebRTC over /ws/chat; the socket and the conversation id."""
    citizen = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    start = {"type": "call.start", "queue": "general", "name": "Ann", "sdp": await caller.offer(), **extra}
    await citizen.send(start)
    answered = await citizen.expect(typed("call.answer"), timeout=10)
    await caller.answered(answered["sdp"])
    assert (await citizen.expect(typed("chat.queued")))["position"] == 1
    return citizen, answered["conversation_id"]


async def test_a_web_call_reaches_an_adviser_and_both_hear_each_other(server: LiveServer, db: asyncpg.Pool) -> None:
    caller, adviser = AdviserPeer(440.0), AdviserPeer(1000.0)
    try:
        citizen, cid = await call_us(server, caller)
        await asyncio.sleep(1.0)
        assert any(caller.heard), "the waiting caller hears hold audio"
        agent = await server.agent("agent1")
        await answer(agent, cid, adviser)
        assert (await citizen.expect(typed("chat.agent_joined")))["agent_name"] == "Alex Morgan"
        await asyncio.sleep(2.0)
        assert abs(dominant_frequency(bytes(adviser.heard[-8000:])) - 440) <= 10
        assert abs(dominant_frequency(bytes(caller.heard[-8000:])) - 1000) <= 10

        await citizen.send({"type": "call.hangup"})  # the caller hangs up: the adviser moves to wrap-up
        ended = await agent.expect(typed("conversation.ended", conversation_id=cid))
        assert ended["by"] == "citizen"
        assert await db.fetchval("SELECT channel FROM conversations WHERE id = $1::uuid", cid) == "voice"
    finally:
        await caller.close()
        await adviser.close()


async def test_a_call_start_without_an_audio_offer_gets_an_error_and_records_nothing(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    citizen = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    before = await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant)
    await citizen.send({"type": "call.start", "queue": "general", "name": "Ann", "sdp": "v=0 this is not an SDP"})
    assert (await citizen.expect(typed("error")))["code"] == "bad_value"
    assert (
        await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant) == before
    )
    await citizen.send({"type": "ping"})
    await citizen.expect(typed("pong"))  # the socket carries on


async def test_ending_the_chat_of_a_web_call_hangs_the_call_up(server: LiveServer) -> None:
    caller = AdviserPeer(440.0)
    try:
        citizen, cid = await call_us(server, caller)
        assert cid in server.services.lines.legs
        await citizen.send({"type": "chat.end"})
        for _ in range(50):
            if cid not in server.services.lines.legs:
                break
            await asyncio.sleep(0.05)
        assert cid not in server.services.lines.legs
        assert await server.services.router_store.conversation(cid) is None  # abandoned while waiting
    finally:
        await caller.close()


async def test_an_offer_we_cannot_answer_gets_an_error_and_records_nothing(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    caller = AdviserPeer(440.0)
    sdp = "\r\n".join(line for line in (await caller.offer()).split("\r\n") if not line.startswith("a=ice-"))
    await caller.close()
    citizen = await Client.connect(server.ws("/ws/chat"), origin=server.base)
    before = await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant)
    await citizen.send({"type": "call.start", "queue": "general", "name": "Ann", "sdp": sdp})  # audio, no ICE
    assert (await citizen.expect(typed("error")))["code"] == "bad_value"
    assert (
        await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant) == before
    )
    await citizen.send({"type": "ping"})
    await citizen.expect(typed("pong"))
