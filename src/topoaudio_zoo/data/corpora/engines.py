"""Flite and Festival: speaking words with their voices, into WAV files read by soundfile.

A :class:`EngineSpeaker` is one engine × voice × variant; the variant is a duration stretch
given to the engine (Flite ``duration_stretch``, Festival ``Duration_Stretch``: 1.2 speaks 20 %
slower) and a speed factor applied afterwards (the waveform is resampled so that it plays
``speed`` times faster: pitch and formants move up together, like a shorter vocal tract, and the
word gets shorter).
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .system import MissingBinaryError, require_binary, run_binary
from .wav import read_mono

__all__ = [
    "FESTIVAL_VOICES",
    "FLITE_VOICES",
    "EngineSpeaker",
    "check_engine",
    "engine_version",
    "synthesize",
]

# Flite voice (``-voice``) → what it is. awb, rms and slt are statistical voices built from
# CMU ARCTIC recordings of real speakers; kal is a diphone voice.
FLITE_VOICES = {
    "awb": "Scottish male (CMU ARCTIC, clustergen)",
    "rms": "US male (CMU ARCTIC, clustergen)",
    "slt": "US female (CMU ARCTIC, clustergen)",
    "kal": "US male (diphone)",
}
# Festival voice → (Debian package, its folder under /usr/share/festival/voices).
FESTIVAL_VOICES = {
    "kal_diphone": ("festvox-kallpc16k", "english/kal_diphone"),
    "ked_diphone": ("festvox-kdlpc16k", "english/ked_diphone"),
    "cmu_us_slt_arctic_hts": ("festvox-us-slt-hts", "us/cmu_us_slt_arctic_hts"),
}
FESTIVAL_VOICE_ROOT = Path("/usr/share/festival/voices")
ENGINES = ("flite", "festival")


@dataclass(frozen=True)
class EngineSpeaker:
    """One synthetic speaker of Flite or Festival: ``engine``, ``voice``, duration ``stretch``
    (1 = the voice's own rate) and ``speed`` factor (1 = unchanged)."""

    engine: str
    voice: str
    stretch: float
    speed: float

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.voice}|d{self.stretch:g}|v{self.speed:g}"

    @property
    def speaker_id(self) -> str:
        """8 hex digits of the SHA-1 of :attr:`key`."""
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:8]


def check_engine(engine: str, voices: list[str]) -> None:
    """Check that ``engine`` and its ``voices`` are installed.

    Raises:
        ValueError: for an unknown engine or voice.
        MissingBinaryError: naming the Debian package to install.
    """
    if engine == "flite":
        unknown = sorted(set(voices) - set(FLITE_VOICES))
    elif engine == "festival":
        unknown = sorted(set(voices) - set(FESTIVAL_VOICES))
    else:
        raise ValueError(f"engines: unknown engine {engine!r} (known: espeak-ng, {ENGINES})")
    if unknown:
        raise ValueError(f"voices: {engine} has no voice {unknown}")
    require_binary(engine)
    if engine == "festival":
        for voice in voices:
            package, folder = FESTIVAL_VOICES[voice]
            if not (FESTIVAL_VOICE_ROOT / folder).is_dir():
                raise MissingBinaryError(
                    f"the Festival voice {voice!r} was not found under {FESTIVAL_VOICE_ROOT}; "
                    f"install it with `apt-get install {package}` (Debian/Ubuntu)"
                )


def _flite(speaker: EngineSpeaker, items: list[tuple[str, float]], tmp: Path):
    binary = require_binary("flite")
    out = []
    for k, (word, stretch) in enumerate(items):
        path = tmp / f"{k}.wav"
        what = f"flite -voice {speaker.voice} (stretch {stretch:g}) {word!r}"
        args = [binary, "-voice", speaker.voice, "--setf", f"duration_stretch={stretch:g}"]
        run_binary([*args, "-t", word, "-o", str(path)], what)
        out.append(read_mono(path, what))
    return out


def _festival(speaker: EngineSpeaker, items: list[tuple[str, float]], tmp: Path):
    binary = require_binary("festival")
    lines = [f"(voice_{speaker.voice})"]
    for k, (word, stretch) in enumerate(items):
        lines.append(f"(Parameter.set 'Duration_Stretch {stretch:g})")
        lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{word}")) "{tmp / f"{k}.wav"}")')
    script = tmp / "say.scm"
    script.write_text("\n".join(lines) + "\n")
    what = f"festival voice {speaker.voice}"
    run_binary([binary, "-b", str(script)], what)
    return [read_mono(tmp / f"{k}.wav", f"{what} {w!r}") for k, (w, _) in enumerate(items)]


def synthesize(speaker: EngineSpeaker, items: list[tuple[str, float]]):
    """Speak every ``(word, duration stretch)`` of ``items`` with ``speaker``'s engine and voice
    (one Festival process for all of them).

    Returns:
        One ``(samples, rate_hz)`` per item: float32 mono in ±1 at the voice's own rate (16 kHz,
        32 kHz for the HTS voice), before the speed factor.

    Raises:
        MissingBinaryError: when the engine is not installed.
        RuntimeError: when it fails or writes an unreadable file.
    """
    for word, _ in items:
        if not word.isalpha():
            raise ValueError(f"words: {word!r} is not a word of letters")
    with tempfile.TemporaryDirectory(prefix="topoaudio-tts-") as tmp:
        speak = _flite if speaker.engine == "flite" else _festival
        return speak(speaker, items, Path(tmp))


def engine_version(engine: str) -> str:
    """The version line of the installed ``flite`` or ``festival`` (``flite --version`` exits
    with status 1, so the status is not checked)."""
    proc = subprocess.run([require_binary(engine), "--version"], capture_output=True, check=False)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    versioned = [line for line in lines if "version" in line.lower()] or lines
    return versioned[0] if versioned else "unknown"
