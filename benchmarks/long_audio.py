"""Peak memory and time of ``topoaudio-zoo cochleagram`` on a 10-minute file.

Writes a 10-minute 44.1 kHz 16-bit WAV (a tone whose frequency changes every minute), then runs
the command in a fresh process twice: the default window (the preset's 2-s clip) and
``--duration all`` (the whole file, computed in chunks). Prints each run's peak resident memory
(``ru_maxrss`` of the child) and wall time.

    python benchmarks/long_audio.py
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf


def write_ten_minutes(path: Path, sr: int = 44100) -> None:
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as handle:
        for minute in range(10):
            t = np.arange(60 * sr) / sr
            handle.write(0.3 * np.sin(2 * np.pi * (200 + 100 * minute) * t))


def peak_of_run(argv: list[str]) -> tuple[float, float, str]:
    """``(peak RSS in MiB, wall seconds, stdout)`` of ``topoaudio-zoo argv`` in a new process."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "topoaudio_zoo.cli", *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds, done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "ten_minutes.wav"
        write_ten_minutes(wav)
        for extra in ([], ["--duration", "all"]):
            argv = ["cochleagram", str(wav), "--out", str(Path(folder) / "c.png"), *extra]
            peak, seconds, out = peak_of_run(argv)
            label = " ".join(extra) or "default window"
            print(f"{label}: peak RSS {peak:.0f} MiB, {seconds:.1f} s; {out.strip()}")


if __name__ == "__main__":
    main()
