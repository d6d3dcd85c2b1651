"""Call recording, per queue: a spoken notice, both sides in one file, a pause for card details, and
deletion after the queue's number of days."""

from __future__ import annotations

import asyncio
import time
import uuid
import wave
from pathlib import Path

import asyncpg
import httpx
import numpy as np

from channels.voice.audio import Mulaw
from channels.voice.prompts import load
from channels.voice.recording import expire
from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import answer, conversation_of
from tests.channels.voice.twilio import TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.helpers import login, typed


async def record_general(server: LiveServer, body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as c:
        admin = {"Cookie": await login(server.base, "admin")}
        return await c.patch("/api/queues/general", json={"recording": body}, headers=admin)


async def test_a_recorded_call_is_announced_kept_whole_and_paused_for_card_details(
    server: LiveServer, db: asyncpg.Pool
) -> None:
    for bad in ({"days": -1}, {"days": "30"}, {"weeks": 4}, 30):
        r = await record_general(server, bad)
        assert r.status_code == 400 and r.json()["error"].startswith("recording:")
    assert (await record_general(server, {"days": 30})).json()["recording"] == {"days": 30}
    server.services.conversations.recording_days = await server.services.queue_settings.recording()
    server.services.lines.first_announcement_s = 0.1
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid))
    stream = await twilio.stream(sid, cid)
    stream.speak(440.0)
    notice = Mulaw().decode(load("en", "recording_notice"))
    for _ in range(100):
        if notice in stream.heard:
            break
        await asyncio.sleep(0.1)
    assert notice in stream.heard, "the caller is not told the call is recorded"

    agent, peer = await server.agent("agent1"), AdviserPeer(1000.0)
    try:
        await answer(agent, cid, peer)
        await agent.expect(typed("call.recording", conversation_id=cid, state="recording"))
        await asyncio.sleep(1.5)
        await agent.send({"type": "call.record.pause", "conversation_id": cid})  # the caller gives card details
        await agent.expect(typed("call.recording", conversation_id=cid, state="paused"))
        await asyncio.sleep(1.0)
        await agent.send({"type": "call.record.resume", "conversation_id": cid})
        await agent.expect(typed("call.recording", conversation_id=cid, state="recording"))
        await asyncio.sleep(1.0)
        await agent.send({"type": "call.hangup", "conversation_id": cid})
        await asyncio.wait_for(stream.closed.wait(), 5)
    finally:
        await peer.close()
        await stream.close()
    path = await db.fetchval("SELECT recording FROM conversations WHERE id = $1", uuid.UUID(cid))
    with wave.open(str(server.settings.data_dir / path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    assert 3.0 < len(frames) / 8000 < 6.0
    caller, adviser = frames[:, 0], frames[:, 1]
    assert abs(dominant_frequency(caller[-4000:].tobytes()) - 440) <= 10  # the caller, left
    assert abs(dominant_frequency(adviser[-4000:].tobytes()) - 1000) <= 10  # the adviser, right
    silent = np.all(frames == 0, axis=1).astype(np.int8)
    longest = max((len(run) for run in np.split(silent, np.where(np.diff(silent) != 0)[0] + 1) if run[0]), default=0)
    assert longest >= 0.8 * 8000, "the paused second is not silent in the recording"


def test_recordings_are_deleted_after_the_queues_days(tmp_path: Path) -> None:
    now = time.time()
    day = lambda ago: time.strftime("%Y-%m-%d", time.gmtime(now - ago * 86400))  # noqa: E731
    for queue, ago in (("general", 31), ("general", 29), ("benefits", 100), ("benefits", 80)):
        folder = tmp_path / "recordings" / "t1" / queue / day(ago)
        folder.mkdir(parents=True)
        (folder / "call.wav").write_bytes(b"RIFF")
    assert expire(tmp_path, "t1", {"general": 30}, now) == 2  # general keeps 30 days; benefits no longer records: 90
    left = sorted(str(p.relative_to(tmp_path / "recordings" / "t1")) for p in tmp_path.rglob("*.wav"))
    assert left == [f"benefits/{day(80)}/call.wav", f"general/{day(29)}/call.wav"]
