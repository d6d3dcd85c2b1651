"""What every aiortc leg of a call shares: a track paced in real time, the encoder that hands aiortc packets
instead of frames, and a close that cannot stall."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, cast

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription
from av.audio.codeccontext import AudioCodecContext

from channels.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, TIME_BASE, pcm_frame
from contactd.tasks import TaskSet

log = logging.getLogger("channels.voice")
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
PEER_CLOSE_S = 2.0


OPUS_BIT_RATE = 32_000
"""Opus for 8 kHz telephone audio, mono, tuned for speech: as clear as the caller's line, for 184 µs a frame
against 265 µs with aiortc's own settings (48 kHz stereo, 96 kbit/s)."""
CODECS = {"audio/pcmu": "pcm_mulaw", "audio/pcma": "pcm_alaw", "audio/opus": "libopus"}
"""The codecs we encode ourselves (by their SDP name): every one a browser or aiortc offers for audio but G.722."""


class Encoder:
    """Encodes a track's 20 ms frames of 8 kHz PCM for the codec a peer connection negotiated.

    A track that hands aiortc an encoded ``av.Packet`` is sent as it is (``RTCRtpSender`` only packs it):
    aiortc's own path would encode each frame in its thread pool, the call's RTP waiting on the hand-over
    between threads, and compute the frame's audio level in Python first. Encoding here, in the event
    loop, costs less than that hand-over (docs/performance.md, "Voice").
    """

    def __init__(self, codec: str) -> None:
        self.context = cast(AudioCodecContext, av.CodecContext.create(codec, "w"))
        self.context.format = "s16"
        self.context.layout = "mono"
        self.context.sample_rate = SAMPLE_RATE
        self.context.time_base = TIME_BASE
        if codec == "libopus":
            self.context.bit_rate = OPUS_BIT_RATE
            self.context.options = {"application": "voip"}

    @classmethod
    def negotiated(cls, pc: RTCPeerConnection) -> Encoder | None:
        """The encoder for the audio codec ``pc``'s local description settled on (the first it lists),
        or None for one we leave to aiortc."""
        for media in SessionDescription.parse(pc.localDescription.sdp).media:
            if media.kind == "audio" and media.rtp.codecs:
                codec = CODECS.get(media.rtp.codecs[0].mimeType.lower())
                return None if codec is None else cls(codec)
        return None

    def packet(self, pcm: bytes, pts: int) -> av.Packet[Any]:
        """``pcm`` (20 ms) as one packet stamped ``pts`` (in 8 kHz samples)."""
        packets = self.context.encode(pcm_frame(pcm, pts))
        packet = packets[0] if len(packets) == 1 else av.Packet(b"".join(bytes(p) for p in packets))
        packet.pts = pts  # Opus's own stamps start early by its look-ahead: the stream's start at 0, as frames'
        packet.time_base = TIME_BASE
        return packet


class AudioTrack(MediaStreamTrack):
    """A track of 20 ms frames of 8 kHz PCM, handed to aiortc encoded once ``encoder`` is set (see
    ``Encoder``), as frames for aiortc to encode before then."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pts = 0
        self.encoder: Encoder | None = None

    def sent(self, pcm: bytes) -> av.Packet[Any] | av.AudioFrame:
        """The next 20 ms, ready for aiortc."""
        pts, self.pts = self.pts, self.pts + FRAME_SAMPLES
        return pcm_frame(pcm, pts) if self.encoder is None else self.encoder.packet(pcm, pts)


def negotiated(pc: RTCPeerConnection, track: AudioTrack) -> str:
    """After ``pc``'s answer is set: ``track`` encodes for the codec it agreed; the answer's SDP."""
    track.encoder = Encoder.negotiated(pc)
    return str(pc.localDescription.sdp)


class PacedTrack(AudioTrack):
    """An audio track that hands aiortc the next 20 ms of ``next_pcm()`` every 20 ms, by the clock."""

    def __init__(self, next_pcm: Callable[[], bytes]) -> None:
        super().__init__()
        self.next_pcm = next_pcm
        self.due: float | None = None

    async def recv(self) -> av.Packet[Any] | av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        self.due = loop.time() if self.due is None else self.due + FRAME_S
        await asyncio.sleep(max(0.0, self.due - loop.time()))
        return self.sent(self.next_pcm())


async def close_peer(pc: RTCPeerConnection, tasks: TaskSet, whose: str) -> None:
    """Close ``pc``, waiting for it at most ``PEER_CLOSE_S``: aiortc's close can stall (aiortc issue #283),
    and the next answer, or a hang-up, must not wait on it (the close goes on in ``tasks``)."""
    closing = tasks.spawn(pc.close())
    done, _ = await asyncio.wait({closing}, timeout=PEER_CLOSE_S)
    if not done:
        log.warning("%s peer connection is slow to close; going on without it", whose)
