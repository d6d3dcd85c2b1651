"""A supervisor on a call, on the node holding its audio: they hear the caller and the adviser together;
in whisper mode the adviser hears them too (the caller does not); in barge mode everyone hears everyone.

The supervisor's side is one more aiortc peer connection. What they say is resampled to 8 kHz and kept
in two short buffers, one mixed into what the adviser hears and one into what the caller hears.
"""

from __future__ import annotations

import contextlib

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from channels.voice.audio import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, SILENCE, mix
from channels.voice.peers import PacedTrack, close_peer, negotiated
from contactd.tasks import TaskSet

MAX_BUFFER = FRAME_BYTES * 10  # 200 ms: more is dropped, so the delay cannot grow


def _append(buffer: bytearray, pcm: bytes) -> None:
    buffer += pcm
    if len(buffer) > MAX_BUFFER:
        del buffer[: len(buffer) - MAX_BUFFER]


def _take(buffer: bytearray) -> bytes | None:
    """The next 20 ms of ``buffer``, or None when there is not that much."""
    if len(buffer) < FRAME_BYTES:
        return None
    chunk = bytes(buffer[:FRAME_BYTES])
    del buffer[:FRAME_BYTES]
    return chunk


def mixed_in(pcm: bytes, extra: bytes | None) -> bytes:
    """``pcm`` with ``extra`` (the supervisor's voice) mixed in, if there is any."""
    return pcm if extra is None else mix(pcm, extra)


class Supervision:
    """One supervisor listening to, whispering on, or barged into one call."""

    def __init__(self, supervisor_id: str, name: str, mode: str, ice: RTCConfiguration) -> None:
        self.supervisor_id = supervisor_id
        self.name = name
        self.mode = mode
        self.pc = RTCPeerConnection(ice)
        self.caller = bytearray()
        self.adviser = bytearray()
        self.to_adviser = bytearray()
        self.to_caller = bytearray()
        self.tasks = TaskSet()

    async def answer(self, sdp: str) -> str:
        """Answer the supervisor's WebRTC offer; the answer's SDP (ValueError etc. for one we cannot use)."""
        heard = PacedTrack(self._mixed)
        self.pc.addTrack(heard)

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self.tasks.spawn(self._hear(track))

        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return negotiated(self.pc, heard)

    def heard_caller(self, pcm: bytes) -> None:
        _append(self.caller, pcm)

    def heard_adviser(self, pcm: bytes) -> None:
        _append(self.adviser, pcm)

    def for_adviser(self) -> bytes | None:
        return _take(self.to_adviser)

    def for_caller(self) -> bytes | None:
        return _take(self.to_caller)

    async def _hear(self, track: MediaStreamTrack) -> None:
        """The supervisor's microphone: kept for the adviser (whisper, barge) and the caller (barge)."""
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=FRAME_SAMPLES)
        with contextlib.suppress(MediaStreamError):
            while True:
                for out in resampler.resample(await track.recv()):  # type: ignore[arg-type]
                    pcm = bytes(out.planes[0])[: out.samples * 2]
                    if self.mode in ("whisper", "barge"):
                        _append(self.to_adviser, pcm)
                    if self.mode == "barge":
                        _append(self.to_caller, pcm)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode != "barge":
            self.to_caller.clear()
        if mode == "listen":
            self.to_adviser.clear()

    def _mixed(self) -> bytes:
        """What the supervisor hears next: the caller and the adviser, mixed."""
        return mixed_in(_take(self.caller) or SILENCE, _take(self.adviser))

    async def close(self) -> None:
        await close_peer(self.pc, self.tasks, "a supervisor's")
        await self.tasks.stop()
