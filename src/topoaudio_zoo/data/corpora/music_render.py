"""Playing a composed :class:`~.music.Track` with FluidSynth (reverb and chorus on)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .midi import write_smf
from .music import Track
from .system import require_binary, run_binary

__all__ = ["render_track"]


def render_track(track: Track, soundfont: str | os.PathLike, sr: int, gain: float = 0.5):
    """The track as float32 mono samples at ``sr`` Hz (FluidSynth, reverb and chorus on).

    Raises:
        MissingBinaryError: when fluidsynth is not installed.
        RuntimeError: when FluidSynth fails.
    """
    binary = require_binary("fluidsynth")
    with tempfile.TemporaryDirectory(prefix="topoaudio-music-") as tmp:
        midi_path, raw_path = Path(tmp, "track.mid"), Path(tmp, "track.raw")
        write_smf(midi_path, list(track.events), end_ms=track.end_ms)
        args = [binary, "-n", "-i", "-q", "-g", str(gain), "-r", str(sr)]
        args += ["-T", "raw", "-O", "float", "-E", "little", "-F", str(raw_path)]
        run_binary([*args, os.fspath(soundfont), str(midi_path)], "fluidsynth music rendering")
        stereo = np.fromfile(raw_path, dtype="<f4")
    return stereo[: stereo.size // 2 * 2].reshape(-1, 2).mean(axis=1)
