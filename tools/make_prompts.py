"""Make the phone prompts (channels/voice/prompts/<language>/<name>.ulaw) with espeak-ng, locally.

    apt-get install espeak-ng && .venv/bin/python tools/make_prompts.py

Each prompt is raw G.711 μ-law at 8 kHz, as Twilio Media Streams carry it, so a call plays it as is.
They are committed, so contactd needs no speech engine and no network speech service at run time.
"""

from __future__ import annotations

import array
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402

from channels.voice.audio import SAMPLE_RATE, Mulaw, pcm_frame  # noqa: E402
from channels.voice.prompts import PHRASES  # noqa: E402

VOICES = {"en": "en-gb", "cy": "cy"}


def speak(text: str, language: str) -> bytes:
    """``text`` spoken by espeak-ng, as μ-law at 8 kHz."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(["espeak-ng", "-v", VOICES[language], "-s", "150", "-w", f.name, text], check=True)
        with wave.open(f.name) as w:
            rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    out = b"".join(bytes(fr.planes[0])[: fr.samples * 2] for fr in resampler.resample(pcm_frame(pcm, rate=rate)))
    out += b"".join(bytes(fr.planes[0])[: fr.samples * 2] for fr in resampler.resample(None))
    return Mulaw().encode(trim(out))


def trim(pcm: bytes, quiet: int = 300, pad: int = 480) -> bytes:
    """Cut the silence espeak-ng leaves at each end, keeping ``pad`` samples (60 ms) either side."""
    samples = array.array("h", pcm)
    loud = [n for n, s in enumerate(samples) if abs(s) > quiet]
    if not loud:
        return pcm
    start, end = max(0, loud[0] - pad), min(len(samples), loud[-1] + pad)
    return samples[start:end].tobytes()


def main() -> None:
    for language, phrases in PHRASES.items():
        folder = ROOT / "channels" / "voice" / "prompts" / language
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in phrases.items():
            (folder / f"{name}.ulaw").write_bytes(speak(text, language))
            print(language, name, repr(text))


if __name__ == "__main__":
    main()
