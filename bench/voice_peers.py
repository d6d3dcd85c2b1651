"""The media ends of bench/voice.py: an aiortc adviser offering one codec only, and the bare aiortc
loopback (the Twilio stand-in is in bench/voice_twilio.py). Each sends a quiet tone with a loud click once a
second and notes, on the machine's monotonic clock (``time.perf_counter``: ``CLOCK_MONOTONIC``, the same in
every process), when each click left, when each frame arrived and when each click arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import functools
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RTCRtpSender, RTCSessionDescription
from aiortc.codecs import get_decoder, get_encoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from bench import harness as h
from channels.voice.audio import FRAME_SAMPLES, pcm_frame, tone

FRAME_S = 0.02  # every stream carries one frame each 20 ms (Twilio: 160 μ-law bytes; RTP: one packet)
CLICK_EVERY = 50  # frames: one click a second, at a phase of its own for each sender
TONE_AMPLITUDE = 1500  # the quiet tone under the clicks (the hold chime is 2500)
CLICK_AMPLITUDE = 24000  # the click: 10 ms of 1 kHz at this amplitude, from the first sample of a frame
LOUD = 12000  # a received frame with a sample beyond this holds a click
REFRACTORY_S = 0.3  # a click arrives once: loud frames this soon after the last one are the same click
Out = dict[str, Any]


def frames_of(frequency: float) -> tuple[bytes, bytes]:
    """(quiet, click): 20 ms of 8 kHz PCM each. ``frequency`` divides 8000 / 160 evenly, so every quiet
    frame is the same and can be made once."""
    quiet = tone(frequency, FRAME_SAMPLES, TONE_AMPLITUDE)
    click = tone(1000.0, FRAME_SAMPLES // 2, CLICK_AMPLITUDE) + tone(
        frequency, FRAME_SAMPLES // 2, TONE_AMPLITUDE, FRAME_SAMPLES // 2
    )
    return quiet, click


CALLER = frames_of(400.0)
ADVISER = frames_of(1000.0)


@dataclass
class Heard:
    """What one receiving end noted: each frame's arrival (time, index) and each click's arrival."""

    frames: list[tuple[float, int]] = field(default_factory=list)
    clicks: list[float] = field(default_factory=list)

    def frame(self, at: float, index: int, loud: bool) -> None:
        self.frames.append((at, index))
        if loud and (not self.clicks or at - self.clicks[-1] > REFRACTORY_S):
            self.clicks.append(at)


def punctuality(frames: list[tuple[float, int]], t0: float, t1: float, late_s: float) -> Out:
    """One stream's frames that arrived in [t0, t1): how many were due (one each 20 ms), came, and came more
    than ``late_s`` behind their schedule. The schedule is frame index x 20 ms from the stream's earliest
    frame in the window (the one least behind): lateness is measured against the best the stream did."""
    inside = [(t, i) for t, i in frames if t0 <= t < t1]
    out: Out = dict(expected=round((t1 - t0) / FRAME_S), received=len(inside), late=0, lateness_ms=[])
    if inside:
        anchor = min(t - i * FRAME_S for t, i in inside)
        lateness = [t - i * FRAME_S - anchor for t, i in inside]
        out.update(late=sum(x > late_s for x in lateness), lateness_ms=[round(x * 1000, 1) for x in lateness])
    return out


def within(times: list[float], t0: float, t1: float) -> list[float]:
    return [t for t in times if t0 <= t < t1]


# --- senders ----------------------------------------------------------------------------------------------


class ClickTrack(MediaStreamTrack):
    """A microphone paced in real time: a quiet tone, and a click every second (each click's time kept)."""

    kind = "audio"

    def __init__(self, frames: tuple[bytes, bytes], phase: int) -> None:
        super().__init__()
        self.quiet, self.click = frames
        self.n, self.pts = phase, 0
        self.due: float | None = None
        self.said = Heard()  # when each frame was handed to aiortc, and each click

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        self.due = loop.time() if self.due is None else self.due + FRAME_S
        await asyncio.sleep(max(0.0, self.due - loop.time()))
        click = self.n % CLICK_EVERY == 0
        frame = pcm_frame(self.click if click else self.quiet, self.pts)
        self.said.frame(h.now(), self.n, click)
        self.n, self.pts = self.n + 1, self.pts + FRAME_SAMPLES
        return frame


@dataclass(frozen=True)
class Encoded:
    """One second of a sender's audio encoded once, to be sent over and over: ``click`` is the packet
    that carries the click."""

    payloads: list[bytes]
    click: int
    step: int  # timestamp units a packet
    time_base: fractions.Fraction


@functools.cache
def encoded(codec: str, frames: tuple[bytes, bytes]) -> Encoded:
    """``frames`` (quiet, then a click each second) through aiortc's own encoder for ``codec``: the second of
    two seconds, once the encoder has settled. The click's packet is the first one that decodes loud."""
    rate = 48000 if codec.lower() == "opus" else 8000
    params = RTCRtpCodecParameters(mimeType=f"audio/{codec}", clockRate=rate, channels=2 if rate == 48000 else 1)
    encoder, decoder = get_encoder(params), get_decoder(params)
    payloads: list[bytes] = []
    for n in range(2 * CLICK_EVERY):
        out, _ = encoder.encode(pcm_frame(frames[1] if n % CLICK_EVERY == 0 else frames[0], n * FRAME_SAMPLES))
        payloads += out
    loop, loud = payloads[-CLICK_EVERY:], []
    for n, payload in enumerate(loop * 2):  # twice: the first pass settles the decoder
        for frame in decoder.decode(JitterFrame(payload, n * rate // 50)):
            samples = np.frombuffer(frame.planes[0], dtype=np.int16, count=frame.samples * len(frame.layout.channels))
            if n >= CLICK_EVERY and (samples.max() > LOUD or samples.min() < -LOUD):
                loud.append(n - CLICK_EVERY)
    if not loud:
        raise RuntimeError(f"the click is lost when encoded with {codec}")
    return Encoded(loop, loud[0], rate // 50, fractions.Fraction(1, rate))


class PacketTrack(MediaStreamTrack):
    """A microphone whose audio was encoded once (``encoded``), paced in real time. aiortc sends the packets a
    track returns as they are (``RTCRtpSender`` only packs them), so the client spends nothing on encoding
    while the node still decodes a real stream of the codec."""

    kind = "audio"

    def __init__(self, audio: Encoded, phase: int) -> None:
        super().__init__()
        self.audio, self.n, self.pts = audio, phase, 0
        self.due: float | None = None
        self.said = Heard()  # when each packet was handed to aiortc, and each click

    async def recv(self) -> av.Packet:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        self.due = loop.time() if self.due is None else self.due + FRAME_S
        await asyncio.sleep(max(0.0, self.due - loop.time()))
        k = self.n % len(self.audio.payloads)
        packet = av.Packet(self.audio.payloads[k])
        packet.pts, packet.time_base = self.pts, self.audio.time_base
        self.said.frame(h.now(), self.n, k == self.audio.click)
        self.n, self.pts = self.n + 1, self.pts + self.audio.step
        return packet


async def listen(track: MediaStreamTrack, heard: Heard) -> None:
    """Take every decoded frame of ``track`` (as a console's speaker would), noting when each arrived; the
    index comes from the RTP timestamp, so a frame lost on the way counts as missing."""
    first: int | None = None
    with contextlib.suppress(MediaStreamError):
        while True:
            frame = await track.recv()
            at = h.now()
            samples = np.frombuffer(frame.planes[0], dtype=np.int16, count=frame.samples * len(frame.layout.channels))
            first = frame.pts if first is None else first
            index = round((frame.pts - first) / frame.samples)
            heard.frame(at, index, bool(samples.max() > LOUD or samples.min() < -LOUD))


class PacketTap:
    """Where an aiortc receiver puts each encoded frame its jitter buffer releases, for its decoder thread
    (``RTCRtpReceiver.__decoder_queue`` in aiortc 1.16): notes when each came and whether it holds a click
    (decoding it here), and gives the decoder thread nothing, so that it ends at once. An adviser's client
    thus spends no thread hand-over a packet: with two cores shared by the node and every call's clients,
    that is what leaves the node a core of its own."""

    ATTRIBUTE = "_RTCRtpReceiver__decoder_queue"

    def __init__(self, heard: Heard) -> None:
        self.heard = heard
        self.first: int | None = None
        self.decoder: Any = None

    @classmethod
    def install(cls, receiver: Any, heard: Heard) -> bool:
        """Tap ``receiver`` before it starts (False: not this aiortc's receiver; its track is listened to)."""
        if not hasattr(receiver, cls.ATTRIBUTE):
            return False
        setattr(receiver, cls.ATTRIBUTE, cls(heard))
        return True

    def put(self, task: tuple[RTCRtpCodecParameters, JitterFrame] | None) -> None:
        if task is None:
            return  # the receiver stops
        codec, encoded_frame = task
        at = h.now()
        self.decoder = self.decoder or get_decoder(codec)
        self.first = encoded_frame.timestamp if self.first is None else self.first
        index = round((encoded_frame.timestamp - self.first) / (codec.clockRate // 50))
        loud = False
        for frame in self.decoder.decode(encoded_frame):
            samples = np.frombuffer(frame.planes[0], dtype=np.int16, count=frame.samples * len(frame.layout.channels))
            loud = loud or bool(samples.max() > LOUD or samples.min() < -LOUD)
        self.heard.frame(at, index, loud)

    def get(self) -> None:
        return None  # the decoder thread ends, and with it the receiver's track: nobody reads it


def pin_codec(pc: RTCPeerConnection, codec: str) -> None:
    """Offer only ``codec`` ("opus" or "PCMU") on every transceiver of ``pc``."""
    wanted = f"audio/{codec}".lower()
    codecs = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType.lower() == wanted]
    if not codecs:
        raise ValueError(f"aiortc has no codec {codec}")
    for transceiver in pc.getTransceivers():
        transceiver.setCodecPreferences(codecs)


class Adviser:
    """An adviser's softphone (aiortc): offers one codec only, speaks a 1 kHz tone with clicks (encoded once),
    listens."""

    def __init__(self, codec: str, phase: int) -> None:
        self.pc = RTCPeerConnection()
        self.track = PacketTrack(encoded(codec, ADVISER), phase)
        self.pc.addTrack(self.track)
        pin_codec(self.pc, codec)
        self.heard = Heard()
        self.tasks: list[asyncio.Task[None]] = []

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.create_task(listen(track, self.heard)))

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answered(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        for receiver in self.pc.getReceivers():  # before ICE connects: the receiver has not started yet
            PacketTap.install(receiver, self.heard)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


class Loopback:
    """The bare stream: two aiortc peers in one process, one sending the tone with clicks to the other, which
    takes every decoded frame. One encoder, one decoder and SRTP each way: what the node does for one call's
    WebRTC leg, without the bridge."""

    def __init__(self, codec: str, phase: int) -> None:
        self.sender, self.receiver = RTCPeerConnection(), RTCPeerConnection()
        self.track = ClickTrack(CALLER, phase)
        self.sender.addTrack(self.track)
        pin_codec(self.sender, codec)
        self.heard = Heard()
        self.tasks: list[asyncio.Task[None]] = []

        @self.receiver.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.create_task(listen(track, self.heard)))

    async def connect(self) -> None:
        await self.sender.setLocalDescription(await self.sender.createOffer())
        await self.receiver.setRemoteDescription(self.sender.localDescription)
        await self.receiver.setLocalDescription(await self.receiver.createAnswer())
        await self.sender.setRemoteDescription(self.receiver.localDescription)

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.sender.close()
        await self.receiver.close()
