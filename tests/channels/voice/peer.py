"""A Python aiortc "adviser": sends a tone over WebRTC and keeps what it hears, as a console's softphone would."""

from __future__ import annotations

import asyncio
import contextlib

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from channels.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, pcm_frame, tone


class ToneTrack(MediaStreamTrack):
    """A microphone that plays one steady tone, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self.frequency = frequency
        self.n = 0
        self.due: float | None = None

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        self.due = loop.time() if self.due is None else self.due + FRAME_SAMPLES / SAMPLE_RATE
        await asyncio.sleep(max(0.0, self.due - loop.time()))
        frame = pcm_frame(tone(self.frequency, FRAME_SAMPLES, 8000, self.n), self.n)
        self.n += FRAME_SAMPLES
        return frame


class AdviserPeer:
    """One WebRTC leg: offers, takes the answer, and records the caller's audio as 8 kHz PCM. ``codec``
    (``audio/opus``, ``audio/PCMU``): the only audio codec it offers; every one aiortc has by default."""

    def __init__(self, frequency: float = 1000.0, codec: str | None = None) -> None:
        self.pc = RTCPeerConnection()
        transceiver = self.pc.addTransceiver(ToneTrack(frequency), "sendrecv")
        if codec is not None:
            codecs = RTCRtpSender.getCapabilities("audio").codecs
            transceiver.setCodecPreferences([c for c in codecs if c.mimeType == codec])
        self.heard = bytearray()
        self.tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.create_task(self._record(track)))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())  # aiortc gathers every candidate here
        return self.pc.localDescription.sdp

    async def answered(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def _record(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):  # type: ignore[arg-type]
                    self.heard += bytes(out.planes[0])[: out.samples * 2]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()
