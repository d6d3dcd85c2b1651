"""What every aiortc leg of a call shares: a track paced in real time, and a close that cannot stall."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import av
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError

from channels.voice.audio import FRAME_SAMPLES, SAMPLE_RATE, pcm_frame
from contactd.tasks import TaskSet

log = logging.getLogger("channels.voice")
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
PEER_CLOSE_S = 2.0


class PacedTrack(MediaStreamTrack):
    """An audio track that hands aiortc the next 20 ms of ``next_pcm()`` every 20 ms, by the clock."""

    kind = "audio"

    def __init__(self, next_pcm: Callable[[], bytes]) -> None:
        super().__init__()
        self.next_pcm = next_pcm
        self.pts = 0
        self.due: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        self.due = loop.time() if self.due is None else self.due + FRAME_S
        await asyncio.sleep(max(0.0, self.due - loop.time()))
        frame = pcm_frame(self.next_pcm(), self.pts)
        self.pts += FRAME_SAMPLES
        return frame


async def close_peer(pc: RTCPeerConnection, tasks: TaskSet, whose: str) -> None:
    """Close ``pc``, waiting for it at most ``PEER_CLOSE_S``: aiortc's close can stall (aiortc issue #283),
    and the next answer, or a hang-up, must not wait on it (the close goes on in ``tasks``)."""
    closing = tasks.spawn(pc.close())
    done, _ = await asyncio.wait({closing}, timeout=PEER_CLOSE_S)
    if not done:
        log.warning("%s peer connection is slow to close; going on without it", whose)
