"""Audio input: reading files, mono, resampling, cropping/padding and RMS normalisation.

Every published cochleagram model expects a mono waveform at the front end's rate (20 kHz for
``cochleagram_1``), demeaned and scaled to an RMS of 0.1. These helpers produce exactly that
from any file soundfile can read (WAV, FLAC, OGG, MP3, ...). Waveforms are ``torch.float32``
tensors of shape ``(time,)`` unless stated otherwise; rates are in Hz.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from .torchaudio_backend import torchaudio_functional

DEFAULT_RMS = 0.1
# Below this RMS (-80 dBFS, after demeaning) a sound is treated as silent and left unscaled.
SILENCE_RMS = 1e-4
# A sound shorter than this fraction of the model's input is mostly padding: it warns.
SHORT_FRACTION = 0.25
# |sample| at or above this, in runs of CLIPPED_RUN or more equal-sign samples, counts as clipped.
CLIPPED_LEVEL = 0.999
CLIPPED_RUN = 3
# libsndfile formats that are not audio containers one could find in a folder of sounds:
# headerless RAW needs its parameters, MAT4/MAT5 are MATLAB files.
_NOT_SOUND_FORMATS = {"RAW", "MAT4", "MAT5"}
# Extensions used for a format besides its lower-case name (".wav" for "WAV").
_EXTENSION_ALIASES = {
    "AIFF": (".aif", ".aiff", ".aifc"),
    "AU": (".au", ".snd"),
    "OGG": (".ogg", ".oga", ".opus"),
    "WAV": (".wav", ".wave"),
    "NIST": (".nist", ".sph"),
    "IRCAM": (".sf", ".ircam"),
    "SVX": (".8svx", ".svx"),
}
# libsndfile's log line for a WAV/AIFF whose audio chunk is shorter than its header says.
_TRUNCATED_CHUNK = re.compile(
    r"^(?:data|SSND)\s*:\s*(?P<announced>\d+)\s*\(should be (?P<present>\d+)\)", re.MULTILINE
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_RMS",
    "AudioError",
    "AudioFileNotFoundError",
    "AudioPermissionError",
    "AudioWarning",
    "NotAudioError",
    "audio_extensions",
    "audio_file_info",
    "crop_or_pad",
    "load_audio",
    "normalize_rms",
    "prepare_waveform",
    "resample",
    "to_mono",
]


class AudioError(ValueError):
    """A sound could not be used; the message names the file (or argument) and the reason."""


class AudioFileNotFoundError(AudioError, FileNotFoundError):
    """The audio file does not exist (or is a folder)."""


class AudioPermissionError(AudioError, PermissionError):
    """The audio file exists but this process may not read it."""


class NotAudioError(AudioError):
    """The file exists and is readable but holds no audio format libsndfile decodes."""


class AudioWarning(UserWarning):
    """A usable but suspicious sound: silent, clipped, much shorter than the model input, or
    cropped. The message names the file (or argument)."""


def audio_extensions() -> tuple[str, ...]:
    """File extensions (lower case, with the dot) of every format this soundfile build reads.

    From ``soundfile.available_formats()`` plus the usual aliases (``.aif``, ``.oga``,
    ``.opus``, ``.snd``, ...); headerless RAW and MATLAB files are left out.
    """
    extensions = set()
    for name in sf.available_formats():
        if name not in _NOT_SOUND_FORMATS:
            extensions.add(f".{name.lower()}")
            extensions.update(_EXTENSION_ALIASES.get(name, ()))
    return tuple(sorted(extensions))


AUDIO_EXTENSIONS = audio_extensions()


def _read_header(path: Path) -> bytes:
    """The file's first bytes; raises the OS error (missing, permission denied) as it comes."""
    with open(path, "rb") as handle:
        return handle.read(16)


def _check_openable(path: Path) -> None:
    """Raise the specific :class:`AudioError` for a missing, non-regular or unreadable path."""
    if path.is_dir():
        raise AudioFileNotFoundError(f"{path}: is a folder, not an audio file")
    if path.exists() and not path.is_file():
        raise AudioError(f"{path}: not a regular file (a pipe, socket or device)")
    try:
        _read_header(path)
    except FileNotFoundError as err:
        raise AudioFileNotFoundError(f"{path}: no such audio file") from err
    except PermissionError as err:
        raise AudioPermissionError(
            f"{path}: permission denied (the file exists but cannot be read by this user)"
        ) from err
    except OSError as err:
        raise AudioError(f"{path}: cannot be read ({err.strerror or err})") from err


def audio_file_info(path: str | os.PathLike) -> sf._SoundFileInfo:
    """Read only the header of an audio file: its format, rate, channels and length.

    Raises:
        AudioFileNotFoundError: the file does not exist (or is a folder).
        AudioPermissionError: the file exists but may not be read.
        NotAudioError: the file holds no format libsndfile decodes (random bytes, text, ...).
    """
    path = Path(path)
    _check_openable(path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise NotAudioError(
            f"{path}: unreadable: not an audio file (libsndfile recognises none of the formats "
            "it reads in it)"
        ) from err


def _warn_clipped(data: np.ndarray, name: str) -> None:
    """Warn when ``data`` ``(time, channels)`` holds runs of full-scale samples."""
    signs = np.where(np.abs(data) >= CLIPPED_LEVEL, np.sign(data), 0.0)
    n = len(signs) - CLIPPED_RUN + 1
    if n <= 0 or not signs.any():
        return
    run_starts = signs[:n] != 0
    for shift in range(1, CLIPPED_RUN):
        run_starts &= signs[shift : shift + n] == signs[:n]
    clipped = int(np.count_nonzero(run_starts))
    if clipped:
        warnings.warn(
            f"{name}: clipped audio ({clipped} places where ≥ {CLIPPED_RUN} samples in a row sit "
            f"at full scale, |x| ≥ {CLIPPED_LEVEL}); the model sees the distortion",
            AudioWarning,
            stacklevel=3,
        )


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
        AudioFileNotFoundError: the file does not exist (or is a folder).
        AudioPermissionError: the file exists but may not be read.
        NotAudioError: the file holds no format libsndfile decodes (random bytes, text, ...).
        AudioError: naming the file, when it is truncated, empty or holds non-finite samples.

    Warns:
        AudioWarning: naming the file when runs of full-scale samples show it is clipped.
    """
    path = Path(path)
    info = audio_file_info(path)
    try:
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
    _warn_clipped(data, str(path))
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
    start = _window_start(n, length, offset, generator)
    if n >= length:
        return waveform[..., start : start + length]
    return torch.nn.functional.pad(waveform, (start, length - n - start))


def _window_start(n: int, length: int, offset: int | str, generator: torch.Generator | None) -> int:
    """First sample kept (crop, ``n ≥ length``) or zeros placed before the sound (pad)."""
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
    return start


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
        name: what to call the input in error messages and warnings (e.g. its file name).

    Returns:
        ``(length,)`` float32. The sound is demeaned before it is padded (so a 1-sample clip
        becomes silence, not a spike) and scaled to ``rms`` over the whole clip.

    Warns:
        AudioWarning: naming ``name``, once per call, when the sound is cropped (with the kept
            span in seconds), when it is shorter than a quarter of ``length`` (mostly padding),
            or when it is silent (RMS below -80 dBFS after demeaning; left unscaled).
    """
    if not torch.is_tensor(waveform) or not waveform.is_floating_point():
        raise AudioError(f"{name}: expected a floating-point tensor")
    if waveform.numel() == 0:
        raise AudioError(f"{name}: empty waveform")
    if not torch.isfinite(waveform).all():
        raise AudioError(f"{name}: waveform holds NaN or infinite samples")
    mono = to_mono(waveform.float())
    mono = resample(mono, sr, target_sr)
    n = mono.shape[-1]
    start = _window_start(n, length, offset, generator)
    notes = []
    if n > length:
        notes.append(
            f"cropped to {start / target_sr:.3f}–{(start + length) / target_sr:.3f} s of "
            f"{n / target_sr:.3f} s (the model takes {length / target_sr:g} s)"
        )
    elif n < SHORT_FRACTION * length:
        notes.append(
            f"only {n} samples ({n / target_sr:.3f} s) long, much shorter than the model's "
            f"{length / target_sr:g}-s input: the rest is zero padding"
        )
    if rms is not None and n < length:
        mono = mono - mono.mean()  # the sound's own mean: the zero padding stays zero
    mono = crop_or_pad(mono, length, offset=start)
    kept = mono[start : start + n] if n < length else mono
    silent = float((kept - kept.mean()).pow(2).mean().sqrt()) < SILENCE_RMS
    if silent:
        notes.append("silent (RMS below -80 dBFS after demeaning): not scaled up")
    if rms is not None:
        mono = mono - mono.mean() if silent else normalize_rms(mono, rms)
    if notes:
        warnings.warn(f"{name}: " + "; ".join(notes), AudioWarning, stacklevel=2)
    return mono
