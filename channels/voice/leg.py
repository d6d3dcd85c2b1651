"""One phone call held on this node: the citizen's leg (a Twilio media stream) bridged to the adviser's
WebRTC leg (aiortc), with hold audio while the caller waits or is held.

Citizen → adviser: μ-law 8 kHz from Twilio, decoded, and encoded again here for the adviser's leg (Opus at
8 kHz, or μ-law) in 20 ms packets that aiortc sends as they are. Adviser → citizen: aiortc's decoded audio,
resampled to 8 kHz mono, μ-law encoded, sent to Twilio every 20 ms by one paced loop, which plays hold audio
instead while nobody is connected.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from channels.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, SILENCE, Mulaw, Playout, hold_pattern
from channels.voice.peers import FRAME_S, AudioTrack, PacedTrack, close_peer, negotiated
from channels.voice.recording import Recorder
from channels.voice.supervision import Supervision, mixed_in
from contactd.tasks import TaskSet

HOLD = hold_pattern()

Send = Callable[[dict[str, Any]], Awaitable[None]]


class CitizenTrack(AudioTrack):
    """What the adviser hears: the caller's audio as it arrives (silence while on hold or when none comes)."""

    def __init__(self, leg: CallLeg) -> None:
        super().__init__()
        self.leg = leg
        self.pc: RTCPeerConnection | None = None
        """The adviser's peer connection this track is sent on: once the leg has moved on to another (a
        transfer, a reload), this one takes none of the caller's audio while it closes."""

    async def recv(self) -> av.Packet[Any] | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.pc is not None and self.leg.pc is not self.pc:
            await asyncio.sleep(FRAME_S)
            pcm = SILENCE
        else:
            try:
                async with asyncio.timeout(0.1):  # not wait_for: that makes a task for every frame
                    pcm = await self.leg.heard.get()
            except TimeoutError:
                pcm = SILENCE
        pcm = SILENCE if self.leg.state == "held" else pcm
        if self.leg.supervision is not None and self.leg.pc is self.pc:
            pcm = mixed_in(pcm, self.leg.supervision.for_adviser())
        return self.sent(pcm)


class CallLeg:
    """The call's state on the node holding the caller's audio: queued, connected, held or ended.

    The caller's side is a Twilio media stream (``TwilioLeg``) or their browser (``WebLeg``); the
    adviser's side is the same for both.
    """

    def __init__(self, conversation_id: str, ice: RTCConfiguration) -> None:
        self.conversation_id = conversation_id
        self.ice = ice
        self.state = "queued"
        self.agent_id = ""
        self.heard: asyncio.Queue[bytes] = asyncio.Queue(maxsize=50)
        self.spoken_prompt = bytearray()
        """A prompt being played to the waiting caller (instead of hold audio), as PCM."""
        self.spoken = Playout()
        """The adviser's voice on its way to the caller."""
        self.mulaw = Mulaw()
        self.pc: RTCPeerConnection | None = None
        self.tasks = TaskSet()
        self.supervision: Supervision | None = None
        """A supervisor listening in (or whispering, or barged in), while one is."""
        self.recorder: Recorder | None = None
        """Set while the call is recorded (its queue records calls and an adviser answered)."""
        self.hang_up: Callable[[], Awaitable[None]] = self.close
        """Ends the caller's side (the node that holds it decides how)."""
        self._hold_n = 0
        self.lock = asyncio.Lock()
        """Held while one frame for the call is handled (see ``Lines``)."""

    def citizen_pcm(self, pcm: bytes) -> None:
        """20 ms of the caller's audio (8 kHz PCM): kept for the adviser once one is connected."""
        if self.pc is None:
            return
        if self.recorder is not None:
            self.recorder.heard(pcm)
        if self.supervision is not None:
            self.supervision.heard_caller(pcm)
        if self.heard.full():
            self.heard.get_nowait()  # the adviser's side fell behind: drop the oldest, keep the delay short
        self.heard.put_nowait(pcm)

    async def answer(self, agent_id: str, sdp: str) -> str:
        """Answer the adviser's WebRTC offer (a second offer replaces the first peer); the answer's SDP.
        ValueError when the call is not one an adviser may join now (ended, or leaving to be called back)."""
        if self.state not in ("queued", "connected", "held"):
            raise ValueError(f"the call is {self.state}")
        await self._close_peer()
        self.agent_id = agent_id
        pc = self.pc = RTCPeerConnection(self.ice)
        track = CitizenTrack(self)
        track.pc = pc
        pc.addTrack(track)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.tasks.spawn(self._listen(track))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self.state = "connected"
        return negotiated(pc, track)

    def announce(self, mulaw: bytes) -> None:
        """Play a prompt to the caller (while they wait; the hold audio resumes after it)."""
        self.spoken_prompt[:] = self.mulaw.decode(mulaw)

    def hold(self, held: bool) -> None:
        if self.state in ("connected", "held"):
            self.state = "held" if held else "connected"

    async def supervise(self, supervision: Supervision, sdp: str) -> str:
        """A supervisor joins (replacing one who was on the call); the answer's SDP. ValueError when the call
        has no adviser on it now."""
        if self.state not in ("connected", "held") or self.pc is None:
            raise ValueError(f"the call is {self.state}")
        await self.unsupervise()
        answer = await supervision.answer(sdp)
        self.supervision = supervision
        return answer

    async def unsupervise(self) -> None:
        supervision, self.supervision = self.supervision, None
        if supervision is not None:
            await supervision.close()

    async def back_to_queue(self) -> None:
        """Transferred: the adviser's leg closes and the caller hears hold audio until the next one."""
        await self.unsupervise()
        await self._close_peer()
        self.state, self.agent_id = "queued", ""

    async def close(self) -> None:
        self.state = "ended"
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        await self.unsupervise()
        await self._close_peer()
        await self.tasks.stop()

    async def _close_peer(self) -> None:
        """Close the adviser's peer connection without waiting on a stalled one."""
        pc, self.pc = self.pc, None
        if pc is not None:
            await close_peer(pc, self.tasks, "an adviser's")
        self.spoken.clear()

    async def _listen(self, track: MediaStreamTrack) -> None:
        """The adviser's audio, resampled to 8 kHz mono for the caller."""
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if self.state != "connected":
                    continue
                for out in resampler.resample(frame):  # type: ignore[arg-type]
                    pcm = bytes(out.planes[0])[: out.samples * 2]
                    self.spoken.add(pcm)
                    if self.supervision is not None:
                        self.supervision.heard_adviser(pcm)

    def next_chunk(self) -> bytes:
        """The caller's next 20 ms (8 kHz PCM): the adviser's voice, a prompt, or hold audio."""
        if self.state == "connected":
            chunk = self.spoken.take() or SILENCE
            if self.supervision is not None:
                chunk = mixed_in(chunk, self.supervision.for_caller())  # a supervisor who barged in
        elif self.state != "held" and self.spoken_prompt:
            chunk = bytes(self.spoken_prompt[:320]).ljust(320, b"\x00")
            del self.spoken_prompt[:320]
        else:
            chunk, self._hold_n = HOLD[self._hold_n % len(HOLD)], self._hold_n + 1
        if self.recorder is not None and self.state in ("connected", "held"):
            self.recorder.write(chunk if self.state == "connected" else SILENCE)  # held: the adviser is not heard
        return chunk


class TwilioLeg(CallLeg):
    """A phone call: the caller's audio comes and goes as μ-law over Twilio's media stream."""

    def __init__(self, conversation_id: str, ice: RTCConfiguration, stream_sid: str, send: Send) -> None:
        super().__init__(conversation_id, ice)
        self.stream_sid = stream_sid
        self.send = send
        """Sends one Media Streams message to Twilio."""
        self.called_back = False
        """A call we placed to call a caller back (not one that rang in)."""
        self.callable = False
        """The caller's number is one we may call back (offered "press 1")."""

    def start(self) -> None:
        self.tasks.spawn(self._play())

    def citizen_audio(self, payload: str) -> None:
        """A Twilio ``media`` payload."""
        if self.pc is not None:
            self.citizen_pcm(self.mulaw.decode(base64.b64decode(payload)))

    async def _play(self) -> None:
        """Every 20 ms, one frame to the caller, paced by the clock (Twilio plays what it gets)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while self.state != "ended":
            payload = base64.b64encode(self.mulaw.encode(self.next_chunk())).decode()
            try:
                await self.send({"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}})
            except Exception:
                return  # the stream has gone; the socket's handler ends the call
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))


class WebLeg(CallLeg):
    """A browser call from the citizen chat page: the caller's side is a WebRTC peer of this node too."""

    def __init__(self, conversation_id: str, ice: RTCConfiguration) -> None:
        super().__init__(conversation_id, ice)
        self.caller = RTCPeerConnection(ice)

    async def answer_caller(self, sdp: str) -> str:
        """Answer the caller's browser; the answer's SDP."""
        heard = PacedTrack(self.next_chunk)  # what the web caller hears
        self.caller.addTrack(heard)

        @self.caller.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.tasks.spawn(self._hear_caller(track))

        await self.caller.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.caller.setLocalDescription(await self.caller.createAnswer())
        return negotiated(self.caller, heard)

    async def _hear_caller(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=FRAME_SAMPLES)
        with contextlib.suppress(MediaStreamError):
            while True:
                for out in resampler.resample(await track.recv()):  # type: ignore[arg-type]
                    self.citizen_pcm(bytes(out.planes[0])[: out.samples * 2])

    async def close(self) -> None:
        await super().close()
        await self.caller.close()
