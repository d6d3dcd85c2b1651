"""Call recording: both sides of a call in one WAV file (caller left, adviser right, 8 kHz), which the
adviser can pause while the caller gives card details (PCI DSS: no card data may be recorded), kept
under the data directory for the queue's number of days, then deleted.
"""

from __future__ import annotations

import array
import logging
import shutil
import time
import wave
from collections import deque
from pathlib import Path

from channels.voice.audio import SAMPLE_RATE, SILENCE

log = logging.getLogger("channels.voice")


class Recorder:
    """One call's recording, written 20 ms at a time as the call is played."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = wave.open(str(path), "wb")
        self.file.setnchannels(2)
        self.file.setsampwidth(2)
        self.file.setframerate(SAMPLE_RATE)
        self.paused = False
        self.caller: deque[bytes] = deque(maxlen=10)
        """The caller's latest 20 ms frames, taken as the adviser's side is written."""

    def heard(self, pcm: bytes) -> None:
        self.caller.append(pcm)

    def write(self, adviser: bytes) -> None:
        """The next 20 ms: the caller's frame that came in, beside what the adviser said (silence while paused)."""
        caller = self.caller.popleft() if self.caller else SILENCE
        if self.paused:
            caller, adviser = SILENCE, SILENCE
        left, right = array.array("h", caller.ljust(len(SILENCE), b"\0")), array.array("h", adviser)
        both = array.array("h", bytes(len(left) * 4))
        both[0::2], both[1::2] = left, right
        self.file.writeframesraw(both.tobytes())

    def close(self) -> None:
        self.file.close()


def recording_path(data_dir: Path, tenant: str, queue: str, conversation_id: str, now_s: float) -> Path:
    """Where a call's recording goes: by tenant, queue and day, so that a whole day expires at once."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now_s))
    return data_dir / "recordings" / tenant / queue / day / f"{conversation_id}.wav"


KEEP_DAYS = 90
"""How long recordings of a queue that no longer records are kept."""


def expire(data_dir: Path, tenant: str, keep_days: dict[str, int], now_s: float) -> int:
    """Delete the days of recordings older than each queue keeps them; returns how many days went."""
    removed = 0
    root = data_dir / "recordings" / tenant
    if not root.is_dir():
        return 0
    for queue_dir in root.iterdir():
        days = keep_days.get(queue_dir.name) or KEEP_DAYS
        cutoff = time.strftime("%Y-%m-%d", time.gmtime(now_s - days * 86400))
        for day_dir in queue_dir.iterdir():
            if day_dir.name < cutoff:
                shutil.rmtree(day_dir, ignore_errors=True)
                removed += 1
                log.info("recordings expired", extra={"queue": queue_dir.name, "day": day_dir.name})
    return removed
