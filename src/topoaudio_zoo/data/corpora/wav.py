"""WAV input and output for the corpora: 16-bit PCM files, as the real datasets ship them."""

from __future__ import annotations

import os
import struct

import numpy as np
import soundfile as sf

__all__ = ["parse_streamed_wav", "write_pcm16"]


def write_pcm16(path: str | os.PathLike, samples: np.ndarray, sr: int) -> None:
    """Write a mono float waveform (full scale ±1) as a 16-bit PCM WAV at ``sr`` Hz.

    Samples beyond ±1 are clipped. The conversion rounds to the nearest integer, so the same
    input always gives the same bytes.
    """
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767)
    sf.write(os.fspath(path), pcm.astype(np.int16), sr, subtype="PCM_16", format="WAV")


def parse_streamed_wav(data: bytes, what: str) -> tuple[np.ndarray, int]:
    """Decode a mono 16-bit PCM WAV written to a pipe (its size fields may be placeholders).

    Programs that stream WAV to standard output (``espeak-ng --stdout``) cannot seek back to
    fill in the RIFF and data sizes, so the samples are taken to run from the ``data`` chunk's
    start to the end of the bytes.

    Returns:
        ``(samples, rate)``: float32 samples in ±1 and the rate in Hz.

    Raises:
        ValueError: naming ``what`` when the bytes are not a mono 16-bit PCM WAV.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{what}: the output is not a WAV stream")
    pos, rate = 12, None
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if (fmt, channels, bits) != (1, 1, 16):
                raise ValueError(
                    f"{what}: expected mono 16-bit PCM, got format {fmt}, {channels} channels, "
                    f"{bits} bits"
                )
        elif chunk_id == b"data":
            if rate is None:
                raise ValueError(f"{what}: the WAV stream has no fmt chunk before its data")
            end = body + (len(data) - body) // 2 * 2
            pcm = np.frombuffer(data[body:end], dtype="<i2")
            return pcm.astype(np.float32) / 32768.0, int(rate)
        pos = body + size + (size & 1)
    raise ValueError(f"{what}: the WAV stream has no data chunk")
