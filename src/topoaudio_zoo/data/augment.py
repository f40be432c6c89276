"""Waveform augmentation for training: speed (vocal-tract length and pitch), pitch, formants
(vocal-tract length alone), room reverberation, band-limiting and level, every random choice
drawn from the example's generator.

:class:`Augment` is configured from plain numbers (so LightningCLI recipes set it in YAML, as
the ``augment`` argument of the DataModules) and applied to one waveform ``(time,)`` at ``sr`` Hz:

- ``speed``: with probability ``p_speed`` the sound is resampled to play ``s`` times faster, ``s``
  uniform in ``speed`` (quantised by :func:`speed_rate`) — every frequency (pitch and formants:
  a shorter or longer vocal tract) is multiplied by ``s`` and the duration divided by it
  (Kaldi's speed perturbation);
- ``pitch``: with probability ``p_pitch`` a shift of ``k`` semitones, ``k`` uniform in
  ``pitch_semitones``, keeping the duration (:func:`pitch_shift`: phase vocoder and
  resampling; it moves the formants with the pitch);
- ``formant``: with probability ``p_formant`` the spectral envelope is stretched by a ratio
  ``r`` uniform in ``formant_ratio``, keeping the pitch and the duration
  (:func:`formant_shift`): formants move to ``r`` times their frequency, as for a vocal tract
  ``1 / r`` times as long. With ``pitch`` and ``formant`` both on, pitch and vocal-tract length
  vary independently;
- ``reverb``: with probability ``p_reverb`` convolution with a simulated room impulse response
  (:func:`room_impulse_response`: RT60 uniform in ``rt60_s``, direct-to-reverberant ratio
  uniform in ``drr_db``); the output is trimmed to the input's length;
- ``band``: with probability ``p_band`` one pass band of ``bands`` (Hz) is chosen uniformly:
  ``(300, 3400)`` is the telephone band of 8-kHz speech, ``(50, 7000)`` wideband 16-kHz speech;
  frequencies outside it are removed with 100-Hz raised-cosine edges;
- ``level``: a gain uniform in ``level_db`` (dB), applied last (after the RMS normalisation of
  the DataModule, so it changes the level the model sees).

The defaults change nothing. In the DataModules augmentation is applied in training only; its
random numbers come from a generator seeded from the example generator's seed
(:func:`augment_generator`, which draws nothing from it), so an example's augmentation is fixed
by the epoch's per-example seed (a resumed run repeats it) and turning augmentation on or off
leaves every other random choice (crop, background, SNR) as it was.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields

import torch
import torchaudio
import torchaudio.functional as AF

from ..audio import crop_or_pad

__all__ = [
    "Augment",
    "augment_generator",
    "formant_shift",
    "pitch_shift",
    "room_impulse_response",
    "speed_rate",
]

SPEECH_BANDS = ((300.0, 3400.0), (50.0, 7000.0))
EDGE_HZ = 100.0
MAX_IR_S = 1.0


def speed_rate(sr: int, factor: float) -> int:
    """The rate (Hz) at which to declare ``sr``-Hz samples so that, resampled back to ``sr``,
    they play ``factor`` times faster: ``sr · factor`` rounded to a multiple of 100 Hz (so the
    two rates share a divisor of 100 and the resampling kernel stays small)."""
    return max(100, round(sr * factor / 100) * 100)


@functools.lru_cache(maxsize=128)
def _resampler(orig_sr: int, new_sr: int) -> torchaudio.transforms.Resample:
    """A resampler with its kernel computed once per pair of rates (the rates are quantised to
    100 Hz, so a few dozen pairs occur)."""
    return torchaudio.transforms.Resample(orig_sr, new_sr)


def _fast_size(n: int) -> int:
    """The power of two ≥ ``n`` (FFTs of awkward sizes are many times slower)."""
    return 1 << max(0, n - 1).bit_length()


def _convolve(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """``x * h`` by FFT, trimmed to ``x``'s length."""
    n = x.shape[-1]
    size = _fast_size(n + h.shape[-1] - 1)
    return torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(h, size), size)[..., :n]


def pitch_shift(waveform: torch.Tensor, sr: int, semitones: float) -> torch.Tensor:
    """Shift every frequency by ``semitones`` keeping the duration: a phase-vocoder time
    stretch (STFT 512 samples, hop 128) by the factor ``s ≈ 2^(semitones/12)``, then resampling
    that plays it ``s`` times faster (``s`` quantised by :func:`speed_rate`)."""
    n = waveform.shape[-1]
    rate = speed_rate(sr, 2 ** (semitones / 12))
    factor = rate / sr
    window = torch.hann_window(512)
    spec = torch.stft(waveform, 512, 128, window=window, return_complex=True)
    advance = torch.linspace(0, math.pi * 128, spec.shape[-2])[..., None]
    stretched = AF.phase_vocoder(spec, 1 / factor, advance)
    longer = torch.istft(stretched, 512, 128, window=window, length=round(n * factor))
    return crop_or_pad(_resampler(rate, sr)(longer), n)


def _spectral_envelope(magnitude: torch.Tensor, lifter: int) -> torch.Tensor:
    """The smooth envelope of each frame of ``magnitude`` ``(freq, frames)``: the real cepstrum
    of its log, kept below quefrency ``lifter`` samples."""
    cepstrum = torch.fft.irfft(magnitude.clamp_min(1e-8).log(), dim=0)
    cepstrum[lifter:-lifter] = 0.0
    return torch.fft.rfft(cepstrum, dim=0).real[: magnitude.shape[0]].exp()


def formant_shift(
    waveform: torch.Tensor, sr: int, ratio: float, n_fft: int = 1024, lifter_s: float = 0.0015
) -> torch.Tensor:
    """Move the formants of ``waveform`` ``(time,)`` to ``ratio`` times their frequency, keeping
    its pitch and duration.

    Each STFT frame (``n_fft`` samples, hop ``n_fft / 4``) is split into its spectral envelope
    (cepstrum liftered at ``lifter_s`` seconds, 1.5 ms: below the period of any voice's pitch)
    and its fine structure (the harmonics); the envelope is read at ``f / ratio`` (linear
    interpolation), the fine structure and the phase are kept.
    """
    if ratio <= 0:
        raise ValueError(f"ratio: expected a positive formant ratio, got {ratio}")
    n = waveform.shape[-1]
    if n < n_fft:
        return waveform
    window = torch.hann_window(n_fft)
    spec = torch.stft(waveform, n_fft, n_fft // 4, window=window, return_complex=True)
    magnitude = spec.abs()
    envelope = _spectral_envelope(magnitude, max(1, round(lifter_s * sr)))
    bins = torch.arange(magnitude.shape[0], dtype=torch.float32) / ratio
    low = bins.floor().long().clamp(0, magnitude.shape[0] - 1)
    high = (low + 1).clamp(max=magnitude.shape[0] - 1)
    weight = (bins - low.float()).clamp(0.0, 1.0)[:, None]
    moved = envelope[low] * (1 - weight) + envelope[high] * weight
    beyond = (bins > magnitude.shape[0] - 1)[:, None]  # read above Nyquist: silence
    gain = torch.where(beyond, torch.zeros_like(moved), moved / envelope)
    shifted = torch.istft(spec * gain, n_fft, n_fft // 4, window=window, length=n)
    return shifted


def _uniform(bounds: Sequence[float], generator: torch.Generator) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand((), generator=generator))


def _chance(p: float, generator: torch.Generator) -> bool:
    return p > 0 and float(torch.rand((), generator=generator)) < p


def room_impulse_response(
    sr: int, rt60_s: float, drr_db: float, generator: torch.Generator
) -> torch.Tensor:
    """A simulated room impulse response ``(samples,)``: a unit direct path, 3–8 early
    reflections (random delays 1–50 ms, gains falling with delay, random signs) and a late tail
    of Gaussian noise under the decay ``exp(−6.91 t / rt60)`` (−60 dB at ``rt60_s``), starting
    at 5 ms, low-passed by a first-order filter with a random cutoff in 2–8 kHz (air and wall
    absorption). Reflections and tail are scaled together to the direct-to-reverberant energy
    ratio ``drr_db``. Length ``min(1.2 · rt60, 1 s)``.
    """
    if rt60_s <= 0:
        raise ValueError(f"rt60_s: expected a positive reverberation time, got {rt60_s}")
    n = max(int(sr * min(1.2 * rt60_s, MAX_IR_S)), int(0.06 * sr))
    t = torch.arange(n, dtype=torch.float32) / sr
    tail = torch.randn(n, generator=generator) * torch.exp(-6.91 * t / rt60_s)
    tail[: int(0.005 * sr)] = 0.0
    cutoff = _uniform((2000.0, 8000.0), generator)
    size = _fast_size(n)
    freqs = torch.fft.rfftfreq(size, 1.0 / sr)
    tail = torch.fft.irfft(torch.fft.rfft(tail, size) / (1 + 1j * freqs / cutoff), size)[:n]
    early = torch.zeros(n)
    count = int(torch.randint(3, 9, (1,), generator=generator))
    delays = torch.randint(int(0.001 * sr), int(0.05 * sr), (count,), generator=generator)
    signs = torch.randint(0, 2, (count,), generator=generator).float() * 2 - 1
    early.index_add_(0, delays, signs * 0.05 / (delays.float() / sr))
    reverberant = early + tail
    energy = reverberant.pow(2).sum().clamp_min(1e-12)
    reverberant = reverberant * math.sqrt(10 ** (-drr_db / 10) / float(energy))
    reverberant[0] += 1.0
    return reverberant


@functools.lru_cache(maxsize=64)
def _band_mask(n: int, sr: int, band: tuple[float, float]) -> torch.Tensor:
    low, high = band
    freqs = torch.fft.rfftfreq(n, 1.0 / sr)

    def edge(f: torch.Tensor) -> torch.Tensor:
        return 0.5 - 0.5 * torch.cos(math.pi * f.clamp(0.0, 1.0))

    rise = edge((freqs - (low - EDGE_HZ / 2)) / EDGE_HZ) if low > 0 else torch.ones_like(freqs)
    fall = edge(((high + EDGE_HZ / 2) - freqs) / EDGE_HZ)
    return rise * fall


@dataclass
class Augment:
    """Training augmentation of one waveform (see the module docstring); defaults: none."""

    p_speed: float = 0.0
    speed: tuple[float, float] = (0.9, 1.1)
    p_pitch: float = 0.0
    pitch_semitones: tuple[float, float] = (-2.0, 2.0)
    p_formant: float = 0.0
    formant_ratio: tuple[float, float] = (0.9, 1.1)
    p_reverb: float = 0.0
    rt60_s: tuple[float, float] = (0.2, 1.0)
    drr_db: tuple[float, float] = (-3.0, 12.0)
    p_band: float = 0.0
    bands: tuple[tuple[float, float], ...] = field(default=SPEECH_BANDS)
    level_db: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_"):
                if not (isinstance(value, int | float) and 0 <= value <= 1):
                    raise ValueError(f"augment.{f.name}: expected a probability, got {value!r}")
            elif f.name == "bands":
                value = tuple(tuple(float(v) for v in band) for band in value)
                if not value or any(len(b) != 2 or not 0 <= b[0] < b[1] for b in value):
                    raise ValueError(f"augment.bands: expected (low, high) Hz pairs, got {value}")
                setattr(self, f.name, value)
            else:
                value = tuple(float(v) for v in value)
                if len(value) != 2 or value[0] > value[1]:
                    raise ValueError(f"augment.{f.name}: expected (low, high), got {value}")
                setattr(self, f.name, value)
        if self.speed[0] <= 0 or self.rt60_s[0] <= 0 or self.formant_ratio[0] <= 0:
            raise ValueError("augment: speed, rt60_s and formant_ratio must be positive")

    @classmethod
    def from_config(cls, config: Augment | Mapping | None) -> Augment | None:
        """An :class:`Augment` from a mapping of its fields (YAML), itself, or ``None``; ``None``
        when it would change nothing.

        Raises:
            ValueError: naming an unknown or bad option.
        """
        if config is None:
            return None
        if not isinstance(config, Augment):
            unknown = sorted(set(config) - {f.name for f in fields(cls)})
            if unknown:
                raise ValueError(
                    f"augment: unknown options {unknown} (known: {[f.name for f in fields(cls)]})"
                )
            config = cls(**config)
        return config if config.active else None

    @property
    def active(self) -> bool:
        """Whether any augmentation can happen."""
        probabilities = (self.p_speed, self.p_pitch, self.p_formant, self.p_reverb, self.p_band)
        return any(p > 0 for p in probabilities) or self.level_db != (0.0, 0.0)

    def as_dict(self) -> dict:
        """The options as plain lists and numbers (for hyperparameters and records)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def source(self, waveform: torch.Tensor, sr: int, generator: torch.Generator) -> torch.Tensor:
        """Speed, pitch, formants and reverberation of one source ``(time,)`` (before placing
        and mixing; the length changes with the speed)."""
        if _chance(self.p_speed, generator):
            waveform = _resampler(speed_rate(sr, _uniform(self.speed, generator)), sr)(waveform)
        if _chance(self.p_pitch, generator) and waveform.shape[-1] >= 512:
            waveform = pitch_shift(waveform, sr, _uniform(self.pitch_semitones, generator))
        if _chance(self.p_formant, generator):
            waveform = formant_shift(waveform, sr, _uniform(self.formant_ratio, generator))
        if _chance(self.p_reverb, generator):
            ir = room_impulse_response(
                sr, _uniform(self.rt60_s, generator), _uniform(self.drr_db, generator), generator
            )
            waveform = _convolve(waveform, ir)
        return waveform

    def channel(self, waveform: torch.Tensor, sr: int, generator: torch.Generator) -> torch.Tensor:
        """Band-limiting and level of the final clip ``(..., time)`` (after mixing and RMS; the
        same filter and gain for every leading index, e.g. a mixture and its parts)."""
        if _chance(self.p_band, generator):
            band = self.bands[int(torch.randint(len(self.bands), (1,), generator=generator))]
            n = waveform.shape[-1]
            waveform = torch.fft.irfft(torch.fft.rfft(waveform) * _band_mask(n, sr, band), n)
        if self.level_db != (0.0, 0.0):
            waveform = waveform * 10 ** (_uniform(self.level_db, generator) / 20)
        return waveform


def augment_generator(generator: torch.Generator) -> torch.Generator:
    """A generator for an example's augmentation, seeded from ``generator``'s seed (nothing is
    drawn from ``generator``)."""
    seed = (generator.initial_seed() * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) % 2**63
    return torch.Generator().manual_seed(seed)
