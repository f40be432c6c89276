"""Cochleagram configurations and the named presets used by published models."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESETS", "CochleagramConfig", "resolve_config"]


@dataclass(frozen=True)
class CochleagramConfig:
    """Every parameter of the cochleagram front end.

    Attributes:
        sr: input rate in Hz.
        signal_size: input length in samples (40 000 = 2 s at 20 kHz).
        env_sr: envelope (output frame) rate in Hz; ``sr / env_sr`` must be an integer.
        n: band-pass filters at ``sample_factor = 1``.
        low_lim, high_lim: lowest and highest filter edge in Hz (``high_lim ≤ sr / 2``).
        sample_factor: filter-bank overcompleteness.
        window_size: taps of the Kaiser-windowed sinc decimation filter.
        kaiser_beta: its Kaiser β.
        compression_power: exponent of the power compression (0.3).
        compression_offset: added before the power (1e-8).
        compression_clip: the power's derivative is clipped to ±this in the backward pass.
        fast_oversampling, fast_min_rate: ``mode="fast"`` samples each subband envelope at
            ``≥ fast_oversampling · bandwidth + fast_min_rate`` Hz (see ``module.py``).
    """

    sr: int = 20000
    signal_size: int = 40000
    env_sr: int = 200
    n: int = 50
    low_lim: float = 50.0
    high_lim: float = 10000.0
    sample_factor: int = 4
    window_size: int = 1001
    kaiser_beta: float = 5.0
    compression_power: float = 0.3
    compression_offset: float = 1e-8
    compression_clip: float = 5.0
    fast_oversampling: float = 6.0
    fast_min_rate: float = 1200.0

    def __post_init__(self) -> None:
        for name in ("sr", "signal_size", "env_sr", "n", "sample_factor", "window_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.sr % self.env_sr:
            raise ValueError(
                f"sr/env_sr: the ratio must be an integer (got sr={self.sr}, "
                f"env_sr={self.env_sr}, ratio {self.sr / self.env_sr:g})"
            )
        for name in ("low_lim", "high_lim", "kaiser_beta", "compression_power"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
        if self.high_lim > self.sr / 2:
            raise ValueError(
                f"high_lim: {self.high_lim} Hz is above the Nyquist frequency "
                f"{self.sr / 2:g} Hz of sr={self.sr}; allowed: low_lim < high_lim ≤ sr/2"
            )
        if self.low_lim >= self.high_lim:
            raise ValueError(
                f"low_lim: {self.low_lim} Hz must be below high_lim ({self.high_lim} Hz)"
            )
        if self.signal_size < self.window_size:
            raise ValueError(
                f"signal_size: {self.signal_size} samples is shorter than the "
                f"{self.window_size}-tap downsampling window; allowed: ≥ {self.window_size}"
            )
        if self.compression_offset < 0 or self.compression_clip <= 0:
            raise ValueError("compression_offset must be ≥ 0 and compression_clip > 0")
        if self.fast_oversampling <= 0 or self.fast_min_rate < 0:
            raise ValueError("fast_oversampling must be > 0 and fast_min_rate ≥ 0")

    @property
    def hop(self) -> int:
        """Input samples per output frame (``sr / env_sr``)."""
        return self.sr // self.env_sr

    @property
    def n_channels(self) -> int:
        """Filters, low/high-pass included (211 for ``cochleagram_1``)."""
        return self.sample_factor * (self.n + 1) - 1 + 2 * self.sample_factor

    @property
    def n_frames(self) -> int:
        """Output frames ("valid" decimation): 390 for ``cochleagram_1``."""
        return (self.signal_size - self.window_size) // self.hop + 1

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return self.signal_size / self.sr

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (travels with model weights)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, CochleagramConfig] = {
    "cochleagram_1": CochleagramConfig(),
    "cochleagram_1_7s": CochleagramConfig(signal_size=140000),
}


def resolve_config(
    preset: str = "cochleagram_1", signal_size: int | None = None, **overrides: Any
) -> CochleagramConfig:
    """A preset with keyword overrides applied, validated.

    Raises:
        ValueError: unknown preset or parameter name (the message lists the valid ones), or
            an invalid value.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset: unknown {preset!r}; known presets: {sorted(PRESETS)}")
    fields = {f.name for f in dataclasses.fields(CochleagramConfig)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"unknown cochleagram parameter(s) {unknown}; known: {sorted(fields)}")
    if signal_size is not None:
        overrides["signal_size"] = signal_size
    return dataclasses.replace(PRESETS[preset], **overrides)
