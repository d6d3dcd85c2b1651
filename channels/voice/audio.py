"""Telephone audio: G.711 μ-law at 8 kHz (what Twilio Media Streams carry), frames for aiortc, and
the hold tone, all made here with PyAV's codecs (no network speech or music service).

Twilio sends and expects 20 ms of μ-law per ``media`` message: 160 bytes, base64
(https://www.twilio.com/docs/voice/media-streams/websocket-messages).
"""

from __future__ import annotations

import fractions
import math
import struct
import sys
from array import array
from collections.abc import Iterator

import av

SAMPLE_RATE = 8000
FRAME_SAMPLES = 160
"""20 ms at 8 kHz: one Twilio media message."""
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
FRAME_BYTES = FRAME_SAMPLES * 2
SILENCE = b"\x00\x00" * FRAME_SAMPLES


class Mulaw:
    """A μ-law codec pair for one call (PyAV's ``pcm_mulaw``; the encoder keeps no state between frames)."""

    def __init__(self) -> None:
        self._dec = av.CodecContext.create("pcm_mulaw", "r")
        self._dec.format = "s16"
        self._dec.layout = "mono"
        self._dec.sample_rate = SAMPLE_RATE
        self._enc = av.CodecContext.create("pcm_mulaw", "w")
        self._enc.format = "s16"
        self._enc.layout = "mono"
        self._enc.sample_rate = SAMPLE_RATE
        self._enc.time_base = TIME_BASE

    def decode(self, payload: bytes) -> bytes:
        """μ-law bytes to 16-bit little-endian PCM (two bytes a sample)."""
        out = []
        for frame in self._dec.decode(av.Packet(payload)):
            out.append(bytes(frame.planes[0])[: frame.samples * 2])
        return b"".join(out)

    def encode(self, pcm: bytes) -> bytes:
        """16-bit PCM at 8 kHz to μ-law bytes (one byte a sample)."""
        return b"".join(bytes(p) for p in self._enc.encode(pcm_frame(pcm)))


class Playout:
    """Audio that arrives in bursts (a WebRTC peer's decoded frames) played out 20 ms at a time, by the clock:
    the adviser's voice to a caller, and each voice to and from a supervisor.

    A little depth absorbs the bursts; depth that stays, the least the buffer held over each half second, is
    delay nobody needs and is dropped, so a busy moment costs a word's fraction once instead of a lag for the
    rest of the call. Never more than ``most`` bytes (100 ms) are kept.
    """

    WINDOW = 25
    """Frames (half a second) over which the least depth is taken."""

    def __init__(self, most: int = FRAME_BYTES * 5) -> None:
        self.buffer = bytearray()
        self.most = most
        self.low: int | None = None
        self.taken = 0

    def add(self, pcm: bytes) -> None:
        self.buffer += pcm
        if len(self.buffer) > self.most:
            del self.buffer[: len(self.buffer) - self.most]

    def take(self) -> bytes | None:
        """The next 20 ms, or None when none has come."""
        if len(self.buffer) < FRAME_BYTES:
            chunk = None
        else:
            chunk = bytes(self.buffer[:FRAME_BYTES])
            del self.buffer[:FRAME_BYTES]
        self.low = len(self.buffer) if self.low is None else min(self.low, len(self.buffer))
        self.taken += 1
        if self.taken >= self.WINDOW:
            del self.buffer[: self.low - self.low % FRAME_BYTES]  # whole frames that stayed all along
            self.low, self.taken = None, 0
        return chunk

    def clear(self) -> None:
        self.buffer.clear()
        self.low, self.taken = None, 0


def pcm_frame(pcm: bytes, pts: int = 0, rate: int = SAMPLE_RATE) -> av.AudioFrame:
    """An aiortc/PyAV audio frame of mono 16-bit PCM."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.planes[0].update(pcm)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = fractions.Fraction(1, rate)
    return frame


def tone(frequency: float, samples: int, amplitude: int = 8000, start: int = 0, rate: int = SAMPLE_RATE) -> bytes:
    """A sine tone as 16-bit PCM, continuing from sample ``start``."""
    step = 2 * math.pi * frequency / rate
    return b"".join(struct.pack("<h", round(amplitude * math.sin(step * n))) for n in range(start, start + samples))


def hold_pattern() -> list[bytes]:
    """Ten seconds of hold audio as 20 ms PCM frames: a soft two-note chime every two seconds, then quiet.

    Quiet most of the time on purpose: a caller on hold hears that the line is alive without a tune
    to tire of (and without a music licence).
    """
    seconds = []
    for _ in range(5):
        chime = tone(523.25, 2400, 2500) + tone(659.25, 2400, 2500)  # C5 then E5, 0.3 s each
        seconds.append(chime + SILENCE * ((2 * SAMPLE_RATE - 4800) // FRAME_SAMPLES))
    pcm = b"".join(seconds)
    return list(_chunks(pcm, FRAME_SAMPLES * 2))


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for n in range(0, len(data) - size + 1, size):
        yield data[n : n + size]


def mix(a: bytes, b: bytes) -> bytes:
    """Two 16-bit little-endian PCM frames of the same length played together (summed, clipped)."""
    x, y = array("h", a), array("h", b)
    if sys.byteorder != "little":
        x.byteswap()
        y.byteswap()
    out = array("h", [max(-32768, min(32767, p + q)) for p, q in zip(x, y, strict=True)])
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()
