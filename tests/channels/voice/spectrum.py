"""Which tone came through a line: the strongest frequency of 16-bit PCM (numpy's FFT, Hann window)."""

from __future__ import annotations

import numpy as np


def dominant_frequency(pcm: bytes, rate: int = 8000) -> float:
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size < 64:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    spectrum[0] = 0.0  # no DC
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[int(np.argmax(spectrum))])


def share(pcm: bytes, frequency: float, rate: int = 8000, width: float = 25.0) -> float:
    """The share (0-1) of the sound's energy within ``width`` Hz of ``frequency``: is that tone in the mix?"""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size < 64:
        return 0.0
    power = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = float(power[1:].sum())
    return float(power[np.abs(freqs - frequency) <= width].sum()) / total if total else 0.0
