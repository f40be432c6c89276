"""Synthetic stimuli: pure tones, amplitude-modulated tones, harmonic complexes, noise.

Waveforms are float32 tensors of shape ``(time,)`` at ``sr`` Hz with 10 ms raised-cosine onset
and offset ramps, demeaned and RMS-normalised to 0.1 unless stated otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .audio import DEFAULT_RMS, normalize_rms

__all__ = [
    "am_noise",
    "am_tone",
    "demo_sound",
    "harmonic_complex",
    "log_spaced",
    "pure_tone",
    "tone_set",
]


def _ramped(signal: np.ndarray, sr: int, ramp: float, rms: float | None) -> torch.Tensor:
    n_ramp = min(round(ramp * sr), signal.size // 2)
    if n_ramp > 0:
        window = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, n_ramp))
        signal[:n_ramp] *= window
        signal[-n_ramp:] *= window[::-1]
    out = torch.from_numpy(signal.astype(np.float32))
    return normalize_rms(out, rms) if rms is not None else out


def _times(duration: float, sr: int) -> np.ndarray:
    if duration <= 0 or sr <= 0:
        raise ValueError(f"duration and sr must be positive (got {duration} s, {sr} Hz)")
    return np.arange(round(duration * sr)) / sr


def log_spaced(low: float, high: float, count: int) -> np.ndarray:
    """``count`` frequencies in Hz evenly spaced on a log axis from ``low`` to ``high``."""
    return np.geomspace(low, high, count)


def pure_tone(
    freq: float,
    duration: float = 2.0,
    sr: int = 20000,
    ramp: float = 0.01,
    rms: float | None = DEFAULT_RMS,
) -> torch.Tensor:
    """A sine at ``freq`` Hz (must be below ``sr / 2``)."""
    if not 0 < freq < sr / 2:
        raise ValueError(f"freq: {freq} Hz is outside (0, {sr / 2:g}) for sr={sr}")
    return _ramped(np.sin(2 * math.pi * freq * _times(duration, sr)), sr, ramp, rms)


def _sinusoidally_modulated(
    carrier: np.ndarray, modulation: float, depth: float, sr: int, rms: float | None
) -> torch.Tensor:
    """``carrier`` ``(samples,)`` times ``1 + depth · sin(2π · modulation · t)``, ramped."""
    t = np.arange(carrier.size) / sr
    return _ramped((1 + depth * np.sin(2 * math.pi * modulation * t)) * carrier, sr, 0.01, rms)


def am_tone(
    carrier: float,
    modulation: float,
    depth: float = 1.0,
    duration: float = 2.0,
    sr: int = 20000,
    rms: float | None = DEFAULT_RMS,
) -> torch.Tensor:
    """A ``carrier`` Hz sine, sinusoidally amplitude-modulated at ``modulation`` Hz."""
    t = _times(duration, sr)
    return _sinusoidally_modulated(np.sin(2 * math.pi * carrier * t), modulation, depth, sr, rms)


def am_noise(
    modulation: float,
    depth: float = 1.0,
    duration: float = 2.0,
    sr: int = 20000,
    seed: int = 0,
    rms: float | None = DEFAULT_RMS,
) -> torch.Tensor:
    """White noise sinusoidally amplitude-modulated at ``modulation`` Hz."""
    noise = np.random.default_rng(seed).standard_normal(_times(duration, sr).size)
    return _sinusoidally_modulated(noise, modulation, depth, sr, rms)


def harmonic_complex(
    f0: float,
    n_harmonics: int = 20,
    duration: float = 0.5,
    sr: int = 20000,
    rms: float | None = DEFAULT_RMS,
) -> torch.Tensor:
    """Harmonics of ``f0`` Hz below Nyquist, equal amplitude, sine phase."""
    t = _times(duration, sr)
    harmonics = [k * f0 for k in range(1, n_harmonics + 1) if k * f0 < sr / 2]
    signal = sum(np.sin(2 * math.pi * h * t) for h in harmonics)
    return _ramped(np.asarray(signal, dtype=np.float64), sr, 0.01, rms)


def demo_sound(sr: int = 20000, duration: float = 2.0) -> torch.Tensor:
    """The project's demonstration sound: a rising arpeggio of harmonic tones, then AM noise.

    Four 0.3 s harmonic complexes (f0 = 220, 277, 330, 440 Hz) followed by 0.8 s of noise
    modulated at 8 Hz, ``duration`` seconds in all.
    """
    parts = [harmonic_complex(f0, duration=0.3, sr=sr) for f0 in (220.0, 277.2, 329.6, 440.0)]
    parts.append(am_noise(8.0, duration=0.8, sr=sr, seed=1))
    sound = torch.cat(parts)
    length = round(duration * sr)
    sound = torch.nn.functional.pad(sound, (0, max(0, length - sound.numel())))[:length]
    return normalize_rms(sound)


def tone_set(
    sr: int, samples: int, low: float = 50.0, high: float = 8000.0, count: int = 48
) -> tuple[np.ndarray, torch.Tensor]:
    """Pure tones log-spaced from ``low`` to ``high`` Hz, each filling ``samples`` at ``sr`` Hz.

    Returns:
        ``(frequencies (count,) Hz, waveforms (count, samples))``: 10 ms ramps, demeaned,
        RMS 0.1.
    """
    freqs = log_spaced(low, high, count)
    tones = torch.stack([pure_tone(f, samples / sr, sr) for f in freqs])
    return freqs, tones[:, :samples]
