"""The chat page's "Call us" in a real browser: Chromium's fake microphone calls over /ws/chat, waits
in the queue, and talks to an aiortc adviser who answers through the console protocol."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import asyncpg
import numpy as np
import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocket, async_playwright, expect

from tests.browser.conftest import CHROMIUM_ARGS
from tests.channels.voice.peer import AdviserPeer
from tests.channels.voice.spectrum import dominant_frequency
from tests.channels.voice.test_call import answer
from tests.conftest import LiveServer
from tests.helpers import UNIT, typed

pytestmark = pytest.mark.browser

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",  # a microphone that beeps, on any machine
    "--allow-loopback-in-peer-connection",  # host candidates on 127.0.0.1, where the test server listens
]
# No --use-fake-ui-for-media-stream: it grants the microphone to every context, whatever the context's
# permissions, and the refusal test needs one that is refused. Each test's context grants it or not instead.
ARGS = [arg for arg in CHROMIUM_ARGS if not arg.startswith("--use-fake-ui-for-media-stream")]
ARGS += [arg for arg in MEDIA_ARGS if arg not in ARGS]
SECOND = 16_000
"""Bytes of one second of what the adviser hears (8 kHz, 16-bit mono)."""
BEEP_HZ = 400.0
"""Chromium's fake microphone: a 400 Hz beep twice a second (media/audio/fake_audio_input_stream.cc)."""
SILENCE_RMS = 100.0
"""RMS of 16-bit PCM above which a stretch of audio is not silence (Opus's comfort noise stays far below)."""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """This module's Chromium (overrides the shared one): the shared flags plus a fake microphone and loopback ICE."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("Chromium is not installed: the browser tests need Debian's `chromium` on PATH.", pytrace=False)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=path, headless=True, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """aioice leaves 127.0.0.1 out of its host candidates (the server's, the adviser's): here the only sure one."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    yield


def chat_frames(page: Page) -> list[tuple[str, dict[str, Any]]]:
    """Every frame on the page's sockets from now on: ("sent" | "received", frame)."""
    frames: list[tuple[str, dict[str, Any]]] = []

    def opened(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: frames.append(("sent", json.loads(payload))))
        ws.on("framereceived", lambda payload: frames.append(("received", json.loads(payload))))

    page.on("websocket", opened)
    return frames


def frames_of(frames: list[tuple[str, dict[str, Any]]], direction: str, kind: str) -> list[dict[str, Any]]:
    return [frame for way, frame in frames if way == direction and frame.get("type") == kind]


async def call_us(page: Page, name: str = "Ann Page") -> None:
    """Open the chat page, fill in the form and press "Call us"."""
    await page.goto("/chat/")
    await page.locator("#queue").select_option(label="General enquiries")
    await page.locator("#name").fill(name)
    await page.locator("#call-button").click()


def rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


async def inbound_audio(page: Page) -> tuple[int, float]:
    """(packetsReceived, totalAudioEnergy) of the call's inbound audio: getStats() on the page's RTCPeerConnection."""
    stats: list[Any] = await page.evaluate(
        """async () => {
            let packets = 0, energy = 0;
            (await window.contactdCall.getStats()).forEach((s) => {
                if (s.type === 'inbound-rtp' && s.kind === 'audio') {
                    packets += s.packetsReceived;
                    energy += s.totalAudioEnergy ?? 0;
                }
            });
            return [packets, energy];
        }"""
    )
    return int(stats[0]), float(stats[1])


async def test_a_citizen_calls_from_the_chat_page_and_talks_to_an_adviser(
    server: LiveServer, context: BrowserContext, page: Page, db: asyncpg.Pool, artifacts: Path
) -> None:
    await context.grant_permissions(["microphone"], origin=server.base)
    frames = chat_frames(page)
    await call_us(page)
    await expect(page.locator("#call-status")).to_have_text(re.compile(r"^You are number 1 in the queue\."))
    await expect(page.locator("#call-heading")).to_be_focused()
    (start,) = frames_of(frames, "sent", "call.start")
    assert start["name"] == "Ann Page" and start["queue"] == "general" and start["language"] == "en"
    assert "m=audio" in start["sdp"] and "a=sendrecv" in start["sdp"] and "a=candidate:" in start["sdp"]
    (answered,) = frames_of(frames, "received", "call.answer")
    cid = answered["conversation_id"]

    adviser = AdviserPeer(1000.0)
    try:
        agent = await server.agent("agent1")
        await answer(agent, cid, adviser)
        await expect(page.locator("#call-status")).to_have_text("Connected to Alex Morgan")
        await expect(page.locator("#call-timer")).to_have_text(re.compile(r"^0:0[1-9]$"))
        await page.screenshot(path=artifacts / "web-call.png", full_page=True)

        await asyncio.sleep(2.0 * UNIT)
        heard = bytes(adviser.heard[-SECOND:])
        loudness, pitch = rms(heard), dominant_frequency(heard)
        # Measured: RMS about 2000, strongest frequency 396-398 Hz.
        assert len(heard) == SECOND and loudness > SILENCE_RMS, f"the adviser hears silence: RMS {loudness:.0f}"
        assert abs(pitch - BEEP_HZ) <= 15, f"the adviser hears {pitch:.0f} Hz, not Chromium's beep"

        (packets, energy) = await inbound_audio(page)
        await asyncio.sleep(1.0 * UNIT)
        (packets_after, energy_after) = await inbound_audio(page)
        # Measured: 50-51 packets a second (one per 20 ms), the energy up by about 0.015.
        assert packets_after - packets >= 25, f"the page received {packets_after - packets} packets in a second"
        assert energy_after > energy, "the page receives only silence"

        await page.locator("#mute-button").click()
        await expect(page.locator("#mute-button")).to_have_text("Unmute")
        await expect(page.locator("#call-muted")).to_have_text("Your microphone is muted. The adviser cannot hear you.")
        await asyncio.sleep(1.5 * UNIT)
        muted = rms(bytes(adviser.heard[-SECOND:]))  # measured: 0
        assert muted < SILENCE_RMS, f"the adviser still hears a muted caller: RMS {muted:.0f}"
        await page.locator("#mute-button").click()
        await expect(page.locator("#mute-button")).to_have_text("Mute")
        await expect(page.locator("#call-muted")).to_be_empty()

        await page.locator("#language-toggle").click()
        await expect(page.locator("#call-status")).to_have_text("Wedi\u2019ch cysylltu ag Alex Morgan")
        await expect(page.locator("#hangup-button")).to_have_text("Rhoi\u2019r ffôn i lawr")
        await page.locator("#language-toggle").click()

        await page.evaluate(
            "window.endedCall = window.contactdCall; window.microphone = endedCall.getSenders()[0].track"
        )

        await page.locator("#hangup-button").click()
        ended = await agent.expect(typed("conversation.ended", conversation_id=cid))
        assert ended["by"] == "citizen"
        await expect(page.locator("#call-ended-message")).to_have_text("Call ended. You hung up.")
        await expect(page.locator("#call-ended-message")).to_be_focused()
        await expect(page.locator("#call-controls")).to_be_hidden()
        assert frames_of(frames, "sent", "call.hangup") == [{"type": "call.hangup"}]
        assert await page.evaluate(
            "window.contactdCall === undefined && endedCall.connectionState === 'closed'"
            " && microphone.readyState === 'ended'"
        ), "the page kept its peer or its microphone after hanging up"
        assert await db.fetchval("SELECT channel FROM conversations WHERE id = $1::uuid", cid) == "voice"

        await page.locator("#call-again-button").click()
        await expect(page.locator("#start-section")).to_be_visible()
        await expect(page.locator("#call-button")).to_have_text("Call us")
    finally:
        await adviser.close()


async def test_a_refused_microphone_is_explained_and_no_call_is_made(
    server: LiveServer, page: Page, db: asyncpg.Pool, artifacts: Path
) -> None:
    frames = chat_frames(page)
    await call_us(page)  # the context was given no microphone permission: Chromium refuses it
    await expect(page.locator("#chat-error")).to_have_text(
        re.compile(r"^You did not allow this page to use your microphone, so you cannot call us\.")
    )
    await expect(page.locator("#start-section")).to_be_visible()
    await expect(page.locator("#call-section")).to_be_hidden()
    await expect(page.locator("#call-button")).to_have_text("Call us")
    await page.locator("#language-toggle").click()
    await expect(page.locator("#chat-error")).to_have_text(
        re.compile("^Nid ydych wedi caniatáu i\u2019r dudalen hon ddefnyddio\u2019ch meicroffon")
    )
    await expect(page.locator("#call-button")).to_have_text("Ffoniwch ni")
    await page.screenshot(path=artifacts / "web-call-refused.png", full_page=True)

    assert frames_of(frames, "sent", "call.start") == []
    assert await db.fetchval("SELECT count(*) FROM conversations WHERE tenant_id = $1", server.settings.tenant) == 0


async def test_the_adviser_hanging_up_ends_the_call_on_the_page(
    server: LiveServer, context: BrowserContext, page: Page
) -> None:
    await context.grant_permissions(["microphone"], origin=server.base)
    frames = chat_frames(page)
    await call_us(page)
    await expect(page.locator("#call-status")).to_have_text(re.compile(r"^You are number 1 in the queue\."))
    (answered,) = frames_of(frames, "received", "call.answer")
    cid = answered["conversation_id"]
    adviser = AdviserPeer(1000.0)
    try:
        agent = await server.agent("agent1")
        await answer(agent, cid, adviser)
        await expect(page.locator("#call-status")).to_have_text("Connected to Alex Morgan")
        await page.evaluate("window.microphone = contactdCall.getSenders()[0].track")
        await page.locator("#mute-button").focus()

        await agent.send({"type": "call.hangup", "conversation_id": cid})
        await expect(page.locator("#call-ended-message")).to_have_text("Call ended. The adviser ended the call.")
        await expect(page.locator("#call-ended-message")).to_be_focused()  # focus was in the call's controls
        assert await page.evaluate("window.contactdCall === undefined && microphone.readyState === 'ended'")
        assert frames_of(frames, "sent", "call.hangup") == []
    finally:
        await adviser.close()


async def test_closing_the_page_hangs_up(
    server: LiveServer, context: BrowserContext, page: Page, db: asyncpg.Pool
) -> None:
    await context.grant_permissions(["microphone"], origin=server.base)
    frames = chat_frames(page)
    await call_us(page)
    await expect(page.locator("#call-status")).to_have_text(re.compile(r"^You are number 1 in the queue\."))
    (answered,) = frames_of(frames, "received", "call.answer")
    await page.close()
    state = None
    for _ in range(int(50 * UNIT)):
        state = await db.fetchval("SELECT state FROM conversations WHERE id = $1::uuid", answered["conversation_id"])
        if state == "abandoned":
            break
        await asyncio.sleep(0.1)
    assert state == "abandoned", "the call waited on after its page closed"
