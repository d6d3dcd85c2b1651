"""A supervisor on a call, on the node holding its audio: they hear the caller and the adviser together;
in whisper mode the adviser hears them too (the caller does not); in barge mode everyone hears everyone.

The supervisor's side is one more aiortc peer connection. What they say is resampled to 8 kHz and kept
in two short playout buffers, one mixed into what the adviser hears and one into what the caller hears.
"""

from __future__ import annotations

import contextlib

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from channels.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, SILENCE, Playout, mix
from channels.voice.peers import PacedTrack, close_peer, negotiated
from contactd.tasks import TaskSet


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
        self.caller = Playout()
        self.adviser = Playout()
        self.to_adviser = Playout()
        self.to_caller = Playout()
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
        self.caller.add(pcm)

    def heard_adviser(self, pcm: bytes) -> None:
        self.adviser.add(pcm)

    def for_adviser(self) -> bytes | None:
        return self.to_adviser.take()

    def for_caller(self) -> bytes | None:
        return self.to_caller.take()

    async def _hear(self, track: MediaStreamTrack) -> None:
        """The supervisor's microphone: kept for the adviser (whisper, barge) and the caller (barge)."""
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=FRAME_SAMPLES)
        with contextlib.suppress(MediaStreamError):
            while True:
                for out in resampler.resample(await track.recv()):  # type: ignore[arg-type]
                    pcm = bytes(out.planes[0])[: out.samples * 2]
                    if self.mode in ("whisper", "barge"):
                        self.to_adviser.add(pcm)
                    if self.mode == "barge":
                        self.to_caller.add(pcm)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        if mode != "barge":
            self.to_caller.clear()
        if mode == "listen":
            self.to_adviser.clear()

    def _mixed(self) -> bytes:
        """What the supervisor hears next: the caller and the adviser, mixed."""
        return mixed_in(self.caller.take() or SILENCE, self.adviser.take())

    async def close(self) -> None:
        await close_peer(self.pc, self.tasks, "a supervisor's")
        await self.tasks.stop()
