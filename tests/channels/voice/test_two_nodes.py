"""A call held on one node, answered from a console on another: signalling crosses through Redis, the
audio goes straight between the adviser and the node holding the call (two real contactd processes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import answer, conversation_of
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.contactd.test_multinode import agent_on
from tests.processes import ContactdProcess

pytestmark = pytest.mark.slow
TOKEN = "two-nodes-twilio-token"


async def test_a_call_on_one_node_is_answered_from_a_console_on_another(
    server_urls: tuple[str, str], department: str, contactd_process: Callable[..., ContactdProcess]
) -> None:
    env = {
        "CONTACTD_REDIS_URL": server_urls[0],
        "CONTACTD_DATABASE_URL": server_urls[1],
        "CONTACTD_TENANT": department,
        "CONTACTD_TWILIO_AUTH_TOKEN": TOKEN,
        "CONTACTD_ICE_HOST_ADDRESSES": "127.0.0.1",
    }
    holding, console = (contactd_process("serve", CONTACTD_NODE_ID=f"node-{i}", **env) for i in (1, 2))
    for node in (holding, console):
        await node.ready()
    twilio, sid = TwilioStandIn(token=TOKEN, base=holding.base), call_sid()
    agent = await agent_on(console, "agent1")
    cid = conversation_of(await twilio.dial(sid))
    stream = await twilio.stream(sid, cid)
    stream.speak(440.0)
    peer = AdviserPeer(1000.0)
    try:
        await answer(agent, cid, peer)  # rtc.offer to node 2, answered by node 1 through Redis
        await asyncio.sleep(2.0)
        assert abs(dominant_frequency(bytes(peer.heard[-8000:])) - 440) <= 10
        assert abs(dominant_frequency(bytes(stream.heard[-8000:])) - 1000) <= 10
        await stream.hang_up()  # the caller hangs up on node 1: the console on node 2 hears of it
        ended = await agent.expect(lambda f: f.get("type") == "conversation.ended" and f.get("conversation_id") == cid)
        assert ended["by"] == "citizen"
    finally:
        await peer.close()
        await stream.close()
