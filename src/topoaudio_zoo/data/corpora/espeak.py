"""espeak-ng: discovering its English accents and voice variants, and speaking one word.

Voice names differ between espeak-ng versions, so they are read at run time from
``espeak-ng --voices=en`` (accents) and ``espeak-ng --voices=variant`` (variants) and sorted.
MBROLA voices (files under ``mb/``) are left out: they need the separate ``mbrola`` program and
voice packages.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .system import require_binary, run_binary
from .wav import read_mono

__all__ = ["EspeakVoice", "english_accents", "espeak_version", "speak", "voice_variants"]

PROBE_WORD = "yes"


@dataclass(frozen=True)
class EspeakVoice:
    """One line of ``espeak-ng --voices``: ``file`` is what ``-v`` accepts (``gmw/en-US``, or
    a variant's name such as ``m3`` after the ``+``), ``language`` its language code, ``name``
    its display name and ``gender`` ``M``, ``F`` or ``-``."""

    file: str
    language: str
    name: str
    gender: str


def _list_voices(selector: str) -> list[EspeakVoice]:
    out = run_binary(
        [require_binary("espeak-ng"), f"--voices={selector}"], f"espeak-ng --voices={selector}"
    )
    voices = []
    for line in out.decode("utf-8", "replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        # The file may hold spaces ("!v/Mr serious"); the optional last column starts with "(".
        rest = []
        for token in fields[4:]:
            if token.startswith("("):
                break
            rest.append(token)
        gender = fields[2].split("/")[-1]
        voices.append(EspeakVoice(" ".join(rest), fields[1], fields[3], gender))
    return voices


def english_accents() -> list[EspeakVoice]:
    """The English accent voices of this espeak-ng (no MBROLA voices, no variants), sorted by
    file, each checked to speak."""
    seen: dict[str, EspeakVoice] = {}
    for voice in _list_voices("en"):
        if voice.language == "variant" or voice.file.startswith("mb/"):
            continue
        seen.setdefault(voice.file, voice)
    accents = [seen[f] for f in sorted(seen)]
    working = [v for v in accents if _speaks(v.file)]
    if not working:
        raise RuntimeError("espeak-ng lists no working English voice (espeak-ng --voices=en)")
    return working


def voice_variants() -> list[EspeakVoice]:
    """The voice variants of this espeak-ng (``m1``, ``f3``, ``klatt``, ...), sorted by name."""
    found = {}
    for voice in _list_voices("variant"):
        name = voice.file.removeprefix("!v/")
        found.setdefault(name, EspeakVoice(name, voice.language, voice.name, voice.gender))
    if not found:
        raise RuntimeError("espeak-ng lists no voice variants (espeak-ng --voices=variant)")
    return [found[n] for n in sorted(found)]


def espeak_version() -> str:
    """The version string of the installed espeak-ng (e.g. ``1.51``)."""
    out = run_binary([require_binary("espeak-ng"), "--version"], "espeak-ng --version")
    text = out.decode("utf-8", "replace")
    match = re.search(r"text-to-speech:\s*(\S+)", text)
    return match.group(1) if match else text.strip()


def _speaks(voice: str) -> bool:
    try:
        samples, _ = speak(PROBE_WORD, voice, rate=175, pitch=50)
    except (RuntimeError, ValueError):
        return False
    return samples.size > 0 and float(np.abs(samples).max()) > 0.01


def speak(word: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """Speak ``word`` with espeak-ng.

    Args:
        word: the text to say.
        voice: the ``-v`` argument: an accent file, optionally ``+variant`` (``gmw/en-US+m3``).
        rate: speaking rate in words per minute (espeak-ng ``-s``; 80–450).
        pitch: pitch adjustment (espeak-ng ``-p``; 0–99, 50 is the voice's own).

    Returns:
        ``(samples, rate_hz)``: float32 mono samples in ±1 at espeak-ng's own rate (22 050 Hz
        for the usual voices), with its leading and trailing silence.
    """
    args = [require_binary("espeak-ng"), "-v", voice, "-s", str(rate), "-p", str(pitch)]
    what = f"espeak-ng -v {voice} -s {rate} -p {pitch} {word!r}"
    with tempfile.TemporaryDirectory(prefix="topoaudio-espeak-") as tmp:
        path = Path(tmp, "word.wav")
        run_binary([*args, "-w", str(path), word], what)
        return read_mono(path, what)
