"""Audio input: reading files, mono, resampling, cropping/padding and RMS normalisation.

Every published cochleagram model expects a mono waveform at the front end's rate (20 kHz for
``cochleagram_1``), demeaned and scaled to an RMS of 0.1. These helpers produce exactly that
from any file soundfile can read (WAV, FLAC, OGG, MP3, ...). Waveforms are ``torch.float32``
tensors of shape ``(time,)`` unless stated otherwise; rates are in Hz.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .torchaudio_backend import torchaudio_functional

DEFAULT_RMS = 0.1
# libsndfile's log line for a WAV/AIFF whose audio chunk is shorter than its header says.
_TRUNCATED_CHUNK = re.compile(
    r"^(?:data|SSND)\s*:\s*(?P<announced>\d+)\s*\(should be (?P<present>\d+)\)", re.MULTILINE
)

__all__ = [
    "DEFAULT_RMS",
    "AudioError",
    "crop_or_pad",
    "load_audio",
    "normalize_rms",
    "prepare_waveform",
    "resample",
    "to_mono",
]


class AudioError(ValueError):
    """A sound could not be used; the message names the file (or argument) and the reason."""


def load_audio(path: str | os.PathLike, sr: int | None = None) -> tuple[torch.Tensor, int]:
    """Read an audio file as a mono float32 waveform.

    Args:
        path: any file libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, AIFF, ...).
        sr: target rate in Hz; the file is resampled to it (torchaudio's sinc resampler).
            ``None`` keeps the file's own rate.

    Returns:
        ``(waveform, rate)``: waveform of shape ``(time,)``, float32; stereo and multichannel
        files are averaged to mono.

    Raises:
        AudioError: naming the file, when it is missing, unreadable, truncated, empty or holds
            non-finite samples.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        info = sf.info(str(path))
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: unreadable or truncated audio file ({err})") from err
    announced = _TRUNCATED_CHUNK.search(info.extra_info or "")
    if announced:
        raise AudioError(
            f"{path}: truncated audio file (the header announces {announced['announced']} bytes "
            f"of audio, the file holds {announced['present']})"
        )
    if data.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: the file holds NaN or infinite samples")
    waveform = to_mono(torch.from_numpy(data.T.copy()))
    if sr is not None and sr != file_sr:
        waveform = resample(waveform, file_sr, sr)
        file_sr = sr
    return waveform, int(file_sr)


def to_mono(waveform: torch.Tensor) -> torch.Tensor:
    """Average channels: ``(channels, time)`` → ``(time,)``; ``(time,)`` is returned as is."""
    if waveform.ndim == 1:
        return waveform
    if waveform.ndim != 2:
        raise AudioError(
            f"waveform: expected (time,) or (channels, time), got shape {tuple(waveform.shape)}"
        )
    return waveform.mean(dim=0)


def resample(waveform: torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Resample along the last axis from ``orig_sr`` to ``new_sr`` Hz (band-limited sinc)."""
    for name, value in (("orig_sr", orig_sr), ("new_sr", new_sr)):
        if int(value) != value or value <= 0:
            raise AudioError(f"{name}: expected a positive integer rate in Hz, got {value!r}")
    if orig_sr == new_sr:
        return waveform
    return torchaudio_functional().resample(waveform, int(orig_sr), int(new_sr))


def crop_or_pad(
    waveform: torch.Tensor,
    length: int,
    offset: int | str = "start",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Cut or zero-pad the last axis to ``length`` samples.

    Args:
        waveform: ``(..., time)``.
        length: samples wanted.
        offset: where the kept window (crop) or the sound (pad) sits: ``"start"``,
            ``"center"``, ``"random"`` (uniform, drawn from ``generator``) or an int sample
            offset (crop: first sample kept; pad: zeros placed before the sound).
        generator: random source for ``offset="random"``.
    """
    if length <= 0:
        raise AudioError(f"length: expected a positive number of samples, got {length}")
    n = waveform.shape[-1]
    slack = abs(n - length)
    if isinstance(offset, str):
        if offset == "start":
            start = 0
        elif offset == "center":
            start = slack // 2
        elif offset == "random":
            start = int(torch.randint(0, slack + 1, (1,), generator=generator))
        else:
            raise AudioError(
                f"offset: expected 'start', 'center', 'random' or an int, got {offset!r}"
            )
    else:
        start = int(offset)
        if not 0 <= start <= slack:
            raise AudioError(f"offset: {start} is outside 0..{slack} for {n} → {length} samples")
    if n >= length:
        return waveform[..., start : start + length]
    return torch.nn.functional.pad(waveform, (start, length - n - start))


def normalize_rms(
    waveform: torch.Tensor, rms: float = DEFAULT_RMS, eps: float = 1e-12
) -> torch.Tensor:
    """Demean along the last axis and scale to the given RMS (0.1 as the published models expect).

    A silent waveform (RMS below ``eps``) is returned demeaned but unscaled.
    """
    centred = waveform - waveform.mean(dim=-1, keepdim=True)
    current = centred.pow(2).mean(dim=-1, keepdim=True).sqrt()
    scale = torch.where(current > eps, rms / current.clamp_min(eps), torch.ones_like(current))
    return centred * scale


def prepare_waveform(
    waveform: torch.Tensor,
    sr: int,
    target_sr: int,
    length: int,
    rms: float | None = DEFAULT_RMS,
    offset: int | str = "start",
    generator: torch.Generator | None = None,
    name: str = "waveform",
) -> torch.Tensor:
    """Mono, resample, crop/pad and RMS-normalise a waveform for a model's front end.

    Args:
        waveform: ``(time,)`` or ``(channels, time)`` at ``sr`` Hz.
        sr: the waveform's rate in Hz (resampled to ``target_sr`` when different).
        target_sr: the model's rate in Hz.
        length: samples at ``target_sr`` (e.g. 40 000 for 2 s at 20 kHz).
        rms: RMS after demeaning; ``None`` leaves the level alone.
        offset, generator: see :func:`crop_or_pad`.
        name: what to call the input in error messages (e.g. its file name).

    Returns:
        ``(length,)`` float32.
    """
    if not torch.is_tensor(waveform) or not waveform.is_floating_point():
        raise AudioError(f"{name}: expected a floating-point tensor")
    if waveform.numel() == 0:
        raise AudioError(f"{name}: empty waveform")
    if not torch.isfinite(waveform).all():
        raise AudioError(f"{name}: waveform holds NaN or infinite samples")
    mono = to_mono(waveform.float())
    mono = resample(mono, sr, target_sr)
    mono = crop_or_pad(mono, length, offset=offset, generator=generator)
    return normalize_rms(mono, rms) if rms is not None else mono
