"""The adviser's voice on its way to a phone caller: bursts of packets are played out without loss, and the
delay a burst leaves behind does not stay for the rest of the call."""

from __future__ import annotations

from channels.voice.audio import FRAME_BYTES, Playout


def frame(n: int) -> bytes:
    """20 ms of audio that says which frame it is."""
    return n.to_bytes(2, "little") * (FRAME_BYTES // 2)


def number(chunk: bytes | None) -> int | None:
    """The frame's number, or None for nothing (the caller then hears silence)."""
    return None if chunk is None else int.from_bytes(chunk[:2], "little")


def test_steady_audio_is_played_in_order_and_whole() -> None:
    playout = Playout()
    heard = []
    for n in range(1, 101):
        playout.add(frame(n))
        heard.append(number(playout.take()))
    assert heard == list(range(1, 101))


def test_jittery_audio_keeps_its_cushion_and_loses_nothing() -> None:
    """Frames two at a time every other 20 ms: the depth this needs is used, never dropped."""
    playout = Playout()
    heard, n = [], 1
    for tick in range(200):
        if tick % 2 == 0:
            playout.add(frame(n) + frame(n + 1))
            n += 2
        heard.append(number(playout.take()))
    assert heard == list(range(1, 201))


def test_delay_left_by_a_burst_is_gone_within_a_second() -> None:
    """Four frames held up arrive with the next (a busy moment): the caller hears them all, and soon after is
    no longer behind."""
    playout = Playout()
    heard, n = [], 1
    for tick in range(100):
        if tick == 10:
            for _ in range(4):
                playout.add(frame(n))
                n += 1
        playout.add(frame(n))
        n += 1
        heard.append(number(playout.take()))
    delay_at_end = (n - 1) - heard[-1]
    assert delay_at_end == 0, f"still {delay_at_end * 20} ms behind"
    assert heard[10:15] == list(range(11, 16)), "the burst itself is played, not dropped"
    assert heard == sorted(heard) and len(set(heard)) == len(heard), "nothing played twice or out of order"


def test_nothing_arriving_is_silence_and_at_most_100_ms_is_kept() -> None:
    playout = Playout()
    assert playout.take() is None
    for n in range(1, 21):
        playout.add(frame(n))
    assert [number(playout.take()) for _ in range(6)] == [16, 17, 18, 19, 20, None]
