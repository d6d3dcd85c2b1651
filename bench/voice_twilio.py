"""The Twilio stand-in of bench/voice.py: signed webhooks, and one media stream a call that sends the caller's
tone with a click a second in real time and notes what the node plays back (on the clock of voice_peers).

Twilio Media Streams messages: https://www.twilio.com/docs/voice/media-streams/websocket-messages
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets

import httpx
import numpy as np
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect

from bench import harness as h
from bench.voice_peers import CALLER, CLICK_EVERY, FRAME_S, LOUD, Heard
from channels.voice.audio import Mulaw
from channels.voice.signature import signed_url

_MULAW_VALUES = np.frombuffer(Mulaw().decode(bytes(range(256))), dtype="<i2")
QUIET_MULAW = bytes(b for b in range(256) if abs(int(_MULAW_VALUES[b])) <= LOUD)
"""The μ-law bytes that decode to a sample within ``LOUD``: a payload with any other byte holds a click."""


class Twilio:
    """Twilio as a contactd node meets it: webhooks signed with the node's auth token over its public URL."""

    def __init__(self, base: str, token: str, http: httpx.AsyncClient) -> None:
        self.base, self.http = base, http
        self.validator = RequestValidator(token)

    async def post(self, path: str, params: dict[str, str]) -> str:
        signature = self.validator.compute_signature(self.base + path, params)
        r = await self.http.post(self.base + path, data=params, headers={"X-Twilio-Signature": signature})
        if r.status_code != 200:
            raise RuntimeError(f"POST {path} -> {r.status_code} {r.text[:200]}")
        return r.text

    async def dial(self, sid: str, caller: str) -> str:
        """Ring in from ``caller``, choose English and no topic (queue ``general``); the conversation id of the
        TwiML's stream. Each call needs a number of its own: a queue may keep a returning caller for the adviser
        they last spoke to."""
        form = {"CallSid": sid, "From": caller, "To": "+441632960000"}
        await self.post("/twilio/voice", form)
        await self.post("/twilio/voice?step=language", {**form, "Digits": "1"})
        twiml = await self.post("/twilio/voice?step=topic", form)
        marker = 'name="conversation_id" value="'
        return twiml[twiml.index(marker) + len(marker) :].split('"', 1)[0]

    async def hung_up(self, sid: str) -> None:
        """The status callback Twilio sends once the call has ended."""
        signature = self.validator.compute_signature(
            self.base + "/twilio/voice/status", form := {"CallSid": sid, "CallStatus": "completed"}
        )
        await self.http.post(self.base + "/twilio/voice/status", data=form, headers={"X-Twilio-Signature": signature})

    async def stream(self, sid: str, cid: str, phase: int) -> Caller:
        url = signed_url(self.base, "/twilio/media", websocket=True)
        ws = await connect(
            url, additional_headers={"X-Twilio-Signature": self.validator.compute_signature(url, {})}, compression=None
        )
        caller = Caller(ws, sid, cid, phase)
        await caller.start()
        return caller


class Caller:
    """One call's media stream: sends the caller's tone with clicks in real time, notes what the node plays."""

    def __init__(self, ws: ClientConnection, sid: str, cid: str, phase: int) -> None:
        self.ws, self.sid, self.cid, self.n = ws, sid, cid, phase
        self.stream_sid = "MZ" + secrets.token_hex(16)
        self.messages = [self._media(pcm) for pcm in CALLER]
        self.said = Heard()  # when each media message was sent, and each click
        self.heard = Heard()
        self.tasks: list[asyncio.Task[None]] = []

    def _media(self, pcm: bytes) -> str:
        payload = base64.b64encode(Mulaw().encode(pcm)).decode()
        return json.dumps({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})

    async def start(self) -> None:
        await self.ws.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": self.stream_sid,
            "callSid": self.sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"conversation_id": self.cid},
        }
        await self.ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": start}))
        self.tasks += [asyncio.create_task(self._speak()), asyncio.create_task(self._listen())]

    async def _speak(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        with contextlib.suppress(Exception):
            while True:
                click = self.n % CLICK_EVERY == 0
                self.said.frame(h.now(), self.n, click)
                await self.ws.send(self.messages[click])
                self.n += 1
                due += FRAME_S
                await asyncio.sleep(max(0.0, due - loop.time()))

    async def _listen(self) -> None:
        n = 0
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                at = h.now()
                msg = json.loads(raw)
                if msg.get("event") == "media":
                    loud = bool(base64.b64decode(msg["media"]["payload"]).translate(None, QUIET_MULAW))
                    self.heard.frame(at, n, loud)
                    n += 1

    async def hang_up(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps({"event": "stop", "streamSid": self.stream_sid}))
        for task in self.tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()
