"""The console's softphone on a real phone call: a Twilio stand-in rings in and streams a 440 Hz caller,
an adviser accepts the offer in headless Chromium (whose fake microphone beeps at 400 Hz), and each side
hears the other; the caller's keys, Hold and Hang up go through the real server, and so does a caller
hanging up."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aioice.ice
import numpy as np
import pytest
from playwright.async_api import Locator, Page, WebSocket, expect

from tests.browser.pages import offer_card, panel_of, sign_in_available
from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import conversation_of
from tests.channels.voice.twilio import MediaStream, TwilioStandIn, call_sid
from tests.conftest import LiveServer
from tests.helpers import UNIT, Client, login, typed

pytestmark = pytest.mark.browser

CALLER = "+447700900123"
CALLER_HZ = 440.0
# Chromium's fake microphone (--use-fake-device-for-media-stream) beeps at 400 Hz twice a second
# (media/audio/fake_audio_input_stream.cc, kBeepFrequency).
BEEP_HZ = 400.0
HOLD_HZ = (523.25, 659.25)  # channels.voice.audio.hold_pattern's chime: C5 then E5
SECOND = 16_000  # bytes of what the stand-in hears: 8 kHz, 16-bit
TENTH = SECOND // 10
LOUD = 1_000  # RMS of 16-bit PCM; the beeps measure about 3,000 over a second, silence 0

RTP = """async (cid) => {
  const out = {};
  (await window.contactdCalls.get(cid).getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') out[s.type] = s;
  });
  return out;
}"""

# The strongest frequency the console plays to the adviser (Web Audio's analyser on the call's <audio>).
HEARD_HZ = """async () => {
  const audio = document.querySelector('[data-testid=call-audio]');
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  ctx.createMediaStreamSource(audio.srcObject).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const peak = bins.indexOf(Math.max(...bins.slice(1)));
  await ctx.close();
  return peak * ctx.sampleRate / analyser.fftSize;
}"""


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice leaves 127.0.0.1 out of its host candidates; on a test machine it is the only sure way
    (the server runs in this test's event loop, so this reaches its peers)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield


@dataclass
class PhoneCall:
    twilio: TwilioStandIn
    sid: str
    cid: str
    stream: MediaStream
    sent: list[dict[str, Any]]
    """The frames the console sent on its socket, as Chromium saw them go."""


@pytest.fixture
async def phone_call(server: LiveServer, page: Page) -> AsyncIterator[PhoneCall]:
    """agent1 Available in the console, and a caller who went through the menu and is speaking 440 Hz."""
    sent: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        if ws.url.endswith("/ws/agent"):
            ws.on("framesent", lambda payload: sent.append(json.loads(payload)))

    page.on("websocket", watch)
    await sign_in_available(page)
    twilio, sid = TwilioStandIn(server), call_sid()
    cid = conversation_of(await twilio.dial(sid, caller=CALLER))
    stream = await twilio.stream(sid, cid)
    stream.speak(CALLER_HZ)
    yield PhoneCall(twilio, sid, cid, stream, sent)
    await stream.close()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def until(check: Callable[[], bool], what: str, limit_s: float = 5.0) -> None:
    """Polls ``check`` every 20 ms; fails with ``what`` after ``limit_s`` units."""
    deadline = time.monotonic() + limit_s * UNIT
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def sent_frame(call: PhoneCall, kind: str) -> dict[str, Any]:
    """The first frame of ``kind`` the console sent."""
    await until(lambda: any(f.get("type") == kind for f in call.sent), f"the console sent no {kind}")
    return next(f for f in call.sent if f.get("type") == kind)


async def rtp_counts(page: Page, cid: str) -> tuple[int, int, dict[str, Any]]:
    """(packets received, packets sent) of the call's audio, and the inbound-rtp stats."""
    stats = await page.evaluate(RTP, cid)
    inbound, outbound = stats.get("inbound-rtp", {}), stats.get("outbound-rtp", {})
    assert inbound.get("kind", "audio") == "audio" and outbound.get("kind", "audio") == "audio", stats
    return int(inbound.get("packetsReceived", 0)), int(outbound.get("packetsSent", 0)), inbound


async def accept(page: Page, call: PhoneCall) -> Locator:
    """The offer says it is a call from the caller's number; the adviser presses Accept call; the call
    panel shows the call connected, its audio too. Returns the call panel."""
    card = offer_card(page, call.cid)
    await expect(card.get_by_role("heading")).to_have_text(f"Call from {CALLER}")
    await expect(page.locator("#announcer")).to_contain_text(f"New call offer from {CALLER}")
    button = card.get_by_role("button", name=f"Accept call from {CALLER}")
    await expect(button).to_have_text("Accept call")
    await expect(card.get_by_role("button", name=f"Decline call from {CALLER}")).to_have_text("Decline call")
    await button.click()
    assert await sent_frame(call, "offer.accept") == {"type": "offer.accept", "conversation_id": call.cid}
    offer = await sent_frame(call, "rtc.offer")
    assert offer["conversation_id"] == call.cid and "m=audio" in offer["sdp"]
    panel = call_panel(page, call)
    await expect(panel.get_by_test_id("call-state")).to_have_text("Connected")
    await expect(panel.get_by_test_id("call-media")).to_have_text("Call audio connected.")
    await expect(panel).to_have_attribute("data-state", "connected")
    await expect(card).to_have_count(0)
    return panel


def call_panel(page: Page, call: PhoneCall) -> Locator:
    return panel_of(page, call.cid).get_by_test_id("call")


async def audio_flows(page: Page, call: PhoneCall) -> None:
    """RTP goes both ways and keeps going (the counts grow over a second), and the adviser's side
    receives the caller's tone, not silence."""
    deadline = time.monotonic() + 5 * UNIT
    while min((await rtp_counts(page, call.cid))[:2]) == 0:
        assert time.monotonic() < deadline, f"no audio RTP both ways: {await page.evaluate(RTP, call.cid)}"
        await asyncio.sleep(0.05)
    received, sent, _ = await rtp_counts(page, call.cid)
    await asyncio.sleep(1)
    received_after, sent_after, inbound = await rtp_counts(page, call.cid)
    grew = (received_after - received, sent_after - sent)
    # 20 ms packets: 50 a second each way; half that allows for a busy machine.
    assert min(grew) >= 25, f"packets received, sent: {received}, {sent}, a second later {received_after}, {sent_after}"
    assert inbound.get("audioLevel", 0) > 0.05, inbound  # 440 Hz at a quarter of full scale: about 0.18


async def test_an_adviser_answers_a_phone_call_puts_it_on_hold_and_hangs_up(page: Page, phone_call: PhoneCall) -> None:
    call, stream = phone_call, phone_call.stream
    panel = await accept(page, call)
    await audio_flows(page, call)
    await expect(panel.get_by_test_id("call-play")).to_be_hidden()  # the browser plays the caller
    heard_hz = await page.evaluate(HEARD_HZ)
    assert abs(heard_hz - CALLER_HZ) <= 10, f"the adviser hears {heard_hz:.0f} Hz, not the caller's 440 Hz"

    # The caller hears the adviser's microphone: Chromium's beeps, not silence and not hold audio.
    await until(lambda: rms(bytes(stream.heard[-SECOND:])) > LOUD, "the caller hears silence from the adviser")
    last_second = bytes(stream.heard[-SECOND:])
    assert abs(dominant_frequency(last_second) - BEEP_HZ) <= 10, (
        f"the caller hears {dominant_frequency(last_second)} Hz"
    )

    await stream.dtmf("5")
    await expect(panel.get_by_test_id("call-dtmf")).to_have_text("5")
    await expect(panel).to_contain_text("Keys pressed: 5")
    await expect(page.locator("#polite-announcer")).to_contain_text(f"{CALLER} pressed 5.")

    await hold_and_resume(page, call, panel)

    await panel.get_by_role("button", name=f"Hang up the call with {CALLER}").click()
    assert await sent_frame(call, "call.hangup") == {"type": "call.hangup", "conversation_id": call.cid}
    await asyncio.wait_for(stream.closed.wait(), 5 * UNIT)  # the server cleared the caller's line
    assert stream.ws.close_code == 1000
    await expect(panel.get_by_test_id("call-state")).to_have_text("Call ended by you.")
    await see_wrapup(page, call, "Call ended by you.")


async def hold_and_resume(page: Page, call: PhoneCall, panel: Locator) -> None:
    """Hold: call.hold goes, the panel shows held, the caller hears the hold chime and not the adviser."""
    hold = panel.get_by_test_id("call-hold")
    await hold.click()
    assert await sent_frame(call, "call.hold") == {"type": "call.hold", "conversation_id": call.cid}
    await expect(panel).to_have_attribute("data-state", "held")
    await expect(panel.get_by_test_id("call-state")).to_have_text(
        "On hold: the citizen hears hold music and you hear nothing"
    )
    await expect(hold).to_have_text("Resume")

    heard, held_at = call.stream.heard, len(call.stream.heard) + TENTH  # a tenth of a second still on its way
    await until(lambda: len(heard) >= held_at + 2 * SECOND + TENTH, "the caller's line went quiet", limit_s=5)
    tenths = [bytes(heard[n : n + TENTH]) for n in range(held_at, held_at + 2 * SECOND + TENTH, TENTH)]
    tones = [round(dominant_frequency(t)) for t in tenths if rms(t) > LOUD]
    # The chime comes every two seconds and lasts 0.6 s: two seconds and a tenth hold a whole tenth of it.
    assert any(min(abs(hz - h) for h in HOLD_HZ) <= 15 for hz in tones), f"no hold chime on hold: {tones}"
    assert all(abs(hz - BEEP_HZ) > 15 for hz in tones), f"the caller hears the adviser on hold: {tones}"

    await hold.click()
    assert await sent_frame(call, "call.resume") == {"type": "call.resume", "conversation_id": call.cid}
    await expect(panel).to_have_attribute("data-state", "connected")
    await expect(hold).to_have_text("Hold")


async def see_wrapup(page: Page, call: PhoneCall, status: str) -> None:
    """The call is over in the console: its peer closed, the controls gone, the wrap-up form shown."""
    conversation = panel_of(page, call.cid)
    await expect(conversation.get_by_test_id("conversation-status")).to_have_text(status)
    await expect(conversation.locator('form[data-testid="wrapup"]')).to_be_visible()
    await expect(conversation.get_by_test_id("disposition")).to_be_visible()
    await expect(conversation.get_by_test_id("call-hangup")).to_be_hidden()
    assert await page.evaluate("(cid) => window.contactdCalls.has(cid)", call.cid) is False


async def test_a_caller_who_hangs_up_while_talking_ends_the_call_in_the_console(
    page: Page, phone_call: PhoneCall
) -> None:
    call = phone_call
    panel = await accept(page, call)
    await audio_flows(page, call)

    await call.stream.hang_up()
    r = await call.twilio.post("/twilio/voice/status", {"CallSid": call.sid, "CallStatus": "completed"})
    assert r.status_code == 204
    await expect(panel.get_by_test_id("call-state")).to_have_text("Call ended by the citizen.")
    await see_wrapup(page, call, "Call ended by the citizen.")
    await expect(page.locator("#announcer")).to_contain_text(
        f"Call with {CALLER} ended by the citizen. Complete the wrap-up."
    )


async def test_the_adviser_sees_when_a_supervisor_whispers_or_joins_the_call(
    page: Page, phone_call: PhoneCall, server: LiveServer
) -> None:
    """A supervisor on the queue board listens (the adviser is not told), whispers (told, and hears them:
    the caller does not), then leaves (told again)."""
    call = phone_call
    panel = await accept(page, call)
    await audio_flows(page, call)
    board = await Client.connect(server.ws("/ws/board"), await login(server.base, "supervisor"), server.base)
    supervisor = AdviserPeer(700.0)
    try:
        offer = {"type": "monitor.rtc.offer", "conversation_id": call.cid, "mode": "listen"}
        await board.send({**offer, "sdp": await supervisor.offer()})
        await supervisor.answered((await board.expect(typed("monitor.rtc.answer"), timeout=10))["sdp"])
        await asyncio.sleep(1.0)
        await expect(panel.get_by_test_id("call-supervisor")).to_be_hidden()
        await board.send({"type": "monitor.mode", "conversation_id": call.cid, "mode": "whisper"})
        note = panel.get_by_test_id("call-supervisor")
        await expect(note).to_have_text("Sam Taylor is speaking to you: the citizen cannot hear them.")
        await expect(page.locator("#polite-announcer")).to_contain_text("Sam Taylor is speaking to you")
        await board.send({"type": "monitor.stop", "conversation_id": call.cid})
        await expect(note).to_be_hidden()
        await expect(page.locator("#polite-announcer")).to_contain_text("Sam Taylor is no longer speaking")
    finally:
        await supervisor.close()
        await board.close()
