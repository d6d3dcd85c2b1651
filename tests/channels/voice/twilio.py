"""A Twilio stand-in: correctly signed webhooks, and a real Media Stream carrying a tone.

It signs as Twilio does (the auth token the server was given, over ``CONTACTD_PUBLIC_URL`` + path
and the form), and speaks the Media Streams WebSocket messages
(https://www.twilio.com/docs/voice/media-streams/websocket-messages): ``connected``, ``start``,
``media`` every 20 ms, ``dtmf``, ``stop``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
from typing import Any

import httpx
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect

from channels.voice.audio import FRAME_SAMPLES, Mulaw, tone
from tests.conftest import LiveServer


def call_sid() -> str:
    return "CA" + secrets.token_hex(16)


class TwilioStandIn:
    """Twilio as our server meets it, for one deployment."""

    def __init__(self, server: LiveServer | None = None, token: str | None = None, base: str = "") -> None:
        """For an in-process ``server``, or a contactd process at ``base`` (its public URL too)."""
        self.base = server.base if server else base
        self.public_url = server.settings.public_url if server else base
        self.validator = RequestValidator(token or (server.settings.twilio_auth_token if server else ""))

    async def post(self, path: str, params: dict[str, str], signed: bool = True) -> httpx.Response:
        """A webhook as Twilio sends it: form-encoded, signed over the public URL and the form."""
        url = self.public_url + path
        signature = self.validator.compute_signature(url, params) if signed else "forged"
        async with httpx.AsyncClient(base_url=self.base) as c:
            return await c.post(path, data=params, headers={"X-Twilio-Signature": signature})

    async def dial(self, sid: str, caller: str = "+447700900123", language: str = "1", topic: str = "") -> str:
        """Ring in and go through the menu; the TwiML that hands the call to the media stream."""
        base = {"CallSid": sid, "From": caller, "To": "+441632960000"}
        assert (await self.post("/twilio/voice", base)).status_code == 200
        assert (await self.post("/twilio/voice?step=language", {**base, "Digits": language})).status_code == 200
        chosen = {**base, "Digits": topic} if topic else base
        r = await self.post("/twilio/voice?step=topic", chosen)
        assert r.status_code == 200
        return r.text

    async def stream(self, sid: str, conversation_id: str, signed: bool = True) -> MediaStream:
        """Open the media stream Twilio opens after <Connect><Stream>, and start it."""
        url = self.public_url.replace("http", "ws", 1) + "/twilio/media"
        signature = self.validator.compute_signature(url, {}) if signed else "forged"
        ws = await connect(
            self.base.replace("http", "ws", 1) + "/twilio/media", additional_headers={"X-Twilio-Signature": signature}
        )
        stream = MediaStream(ws, sid, "MZ" + secrets.token_hex(16))
        await stream.start(conversation_id)
        return stream


class MediaStream:
    """One call's media stream: sends the caller's tone, keeps what the server plays back (as PCM)."""

    def __init__(self, ws: ClientConnection, call_sid: str, stream_sid: str) -> None:
        self.ws = ws
        self.call_sid = call_sid
        self.stream_sid = stream_sid
        self.mulaw = Mulaw()
        self.heard = bytearray()
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()

    async def start(self, conversation_id: str) -> None:
        await self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"conversation_id": conversation_id},
        }
        await self.ws.send(
            json.dumps({"event": "start", "sequenceNumber": "1", "start": start, "streamSid": self.stream_sid})
        )
        self.tasks += [asyncio.create_task(self._listen())]

    def speak(self, frequency: float) -> None:
        """Send the caller's tone, 20 ms a message, in real time, until ``stop``."""
        self.tasks.append(asyncio.create_task(self._speak(frequency)))

    async def _speak(self, frequency: float) -> None:
        loop, n = asyncio.get_running_loop(), 0
        due = loop.time()
        with contextlib.suppress(Exception):
            while True:
                payload = base64.b64encode(self.mulaw.encode(tone(frequency, FRAME_SAMPLES, 8000, n))).decode()
                await self.ws.send(
                    json.dumps({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})
                )
                n += FRAME_SAMPLES
                due += 0.02
                await asyncio.sleep(max(0.0, due - loop.time()))

    async def _listen(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                msg: dict[str, Any] = json.loads(raw)
                if msg.get("event") == "media":
                    self.heard += self.mulaw.decode(base64.b64decode(msg["media"]["payload"]))
        self.closed.set()

    async def dtmf(self, digit: str) -> None:
        await self.ws.send(json.dumps({"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"digit": digit}}))

    async def hang_up(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps({"event": "stop", "streamSid": self.stream_sid}))
        await self.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.ws.close()
