"""Cochleagrams of long recordings in bounded memory: a span of a file, computed in chunks.

:func:`read_span` decodes only the asked-for span of a file and resamples it block by block;
:func:`cochleagram_chunks` computes the cochleagram of a waveform of any length chunk by chunk
with a fixed-size :class:`~topoaudio_zoo.cochleagram.Cochleagram`, each chunk padded by
``context`` frames of real signal on both sides that are then dropped, so the frames equal
those of one pass over the whole waveform up to the filters' edge effects (tested). Memory is
the span's waveform (4 bytes per sample at the preset's rate) plus one chunk.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np
import soundfile as sf
import torch

from ..audio import AudioError, audio_file_info, resample
from .module import Cochleagram

__all__ = ["cochleagram_chunks", "n_frames", "pooled_columns", "read_span"]

# File samples decoded and resampled at a time, and the context around each block (seconds).
_BLOCK_SECONDS = 10.0
_BLOCK_CONTEXT_SECONDS = 0.05


def read_span(
    path: str | os.PathLike, sr: int, start: float = 0.0, duration: float | None = None
) -> tuple[torch.Tensor, float]:
    """Decode ``[start, start + duration)`` seconds of a file as a mono waveform at ``sr`` Hz.

    Only that span is read; it is resampled in 10-s blocks, each with 50 ms of the span's
    signal around it, so memory stays at the span's size.

    Args:
        path: any file :func:`~topoaudio_zoo.audio.load_audio` reads.
        sr: rate of the result in Hz.
        start: first second read (≥ 0, before the file's end).
        duration: seconds to read; ``None``: to the end. A span past the end is cut there.

    Returns:
        ``(waveform (time,) float32, file duration in seconds)``.

    Raises:
        AudioError: naming the file (missing, permission denied, not audio, NaN samples), or
            ``start``/``duration`` when out of range.
    """
    info = audio_file_info(path)
    rate, total = info.samplerate, info.frames
    if not 0 <= start < total / rate:
        raise AudioError(f"{path}: start {start:g} s is outside the file (0–{total / rate:g} s)")
    if duration is not None and not duration > 0:
        raise AudioError(f"duration: expected a positive number of seconds, got {duration}")
    first = round(start * rate)
    last = total if duration is None else min(total, first + round(duration * rate))
    step = rate // math.gcd(rate, sr)  # file samples per whole number of output samples
    block = max(step, round(_BLOCK_SECONDS * rate) // step * step)
    context = max(step, round(_BLOCK_CONTEXT_SECONDS * rate) // step * step)
    blocks = range(first, last, block)
    length = (len(blocks) - 1) * block * sr // rate + math.ceil((last - blocks[-1]) * sr / rate)
    waveform = torch.empty(length)
    with sf.SoundFile(str(path)) as handle:
        for begin in blocks:
            lo, hi = max(first, begin - context), min(last, begin + block + context)
            handle.seek(lo)
            data = handle.read(hi - lo, dtype="float32", always_2d=True)
            if not np.isfinite(data).all():
                raise AudioError(f"{path}: the file holds NaN or infinite samples")
            out = resample(torch.from_numpy(data.mean(axis=1)), rate, sr)
            skip = (begin - lo) * sr // rate
            at = (begin - first) * sr // rate
            keep = min(length - at, out.shape[0] - skip)
            waveform[at : at + keep] = out[skip : skip + keep]
    return waveform, total / rate


def n_frames(front_end: Cochleagram, n_samples: int) -> int:
    """Frames of the cochleagram of ``n_samples`` samples ("valid" decimation, as one pass)."""
    cfg = front_end.config
    return (n_samples - cfg.window_size) // cfg.hop + 1


def cochleagram_chunks(
    waveform: torch.Tensor, front_end: Cochleagram, context: int = 50
) -> Iterator[np.ndarray]:
    """The cochleagram of ``waveform`` (``(time,)`` at ``front_end.sr``), chunk by chunk.

    Args:
        waveform: any length of at least ``front_end``'s window.
        front_end: a Cochleagram whose ``signal_size`` sets the chunk; its frames, minus
            ``context`` at each side, are the frames a chunk yields.
        context: frames computed and dropped at each side of a chunk (the signal there is the
            neighbouring real signal; zeros beyond the waveform's ends).

    Yields:
        ``(channels, frames)`` float32 arrays; concatenated along frames they hold
        :func:`n_frames` frames.
    """
    cfg = front_end.config
    core = cfg.n_frames - 2 * context
    if core < 1:
        raise ValueError(f"context: {context} frames leave nothing of a {cfg.n_frames}-frame chunk")
    total = n_frames(front_end, waveform.shape[-1])
    if total < 1:
        raise ValueError(
            f"waveform: {waveform.shape[-1]} samples, shorter than the {cfg.window_size}-sample "
            "decimation window"
        )
    pad = context * cfg.hop
    padded = torch.nn.functional.pad(waveform, (pad, cfg.signal_size))
    with torch.no_grad():
        for first in range(0, total, core):
            chunk = padded[first * cfg.hop : first * cfg.hop + cfg.signal_size]
            frames = front_end(chunk)[0, :, context : context + min(core, total - first)]
            yield frames.numpy()


def pooled_columns(chunks: Iterator[np.ndarray], pool: int) -> np.ndarray:
    """Average every ``pool`` consecutive frames of a chunked cochleagram into one column.

    Args:
        chunks: ``(channels, frames)`` arrays, consecutive (e.g. :func:`cochleagram_chunks`).
        pool: frames per column; trailing frames that do not fill a column are dropped.

    Returns:
        ``(channels, columns)`` float32, built without holding every frame at once.
    """
    columns, carry = [], None
    for chunk in chunks:
        frames = chunk if carry is None else np.concatenate([carry, chunk], axis=1)
        whole = frames.shape[1] // pool * pool
        if whole:
            grouped = frames[:, :whole].reshape(frames.shape[0], -1, pool)
            columns.append(grouped.mean(axis=2, dtype=np.float64).astype(np.float32))
        carry = frames[:, whole:]
    if not columns:
        raise ValueError(f"pool: {pool} frames per column, fewer frames than that")
    return np.concatenate(columns, axis=1)
