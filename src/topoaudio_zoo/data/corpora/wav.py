"""WAV input and output for the corpora: 16-bit PCM files, as the real datasets ship them."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from ...atomic import atomic_path

__all__ = ["read_mono", "write_pcm16"]


def write_pcm16(path: str | os.PathLike, samples: np.ndarray, sr: int) -> None:
    """Write a mono float waveform (full scale ±1) as a 16-bit PCM WAV at ``sr`` Hz.

    Samples beyond ±1 are clipped. The conversion rounds to the nearest integer, so the same
    input always gives the same bytes.
    """
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767)
    with atomic_path(path, suffix=".wav") as tmp:
        sf.write(os.fspath(tmp), pcm.astype(np.int16), sr, subtype="PCM_16", format="WAV")


def read_mono(path: str | os.PathLike, what: str) -> tuple[np.ndarray, int]:
    """Read a WAV a speech engine wrote, mixed to mono.

    Returns:
        ``(samples, rate)``: float32 samples in ±1 and the rate in Hz.

    Raises:
        RuntimeError: naming ``what`` when the file is missing or unreadable.
    """
    try:
        samples, rate = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise RuntimeError(f"{what}: unreadable output ({err})") from err
    return samples.mean(axis=1), int(rate)
