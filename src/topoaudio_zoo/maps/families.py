"""Preferred-stimulus maps: any stimulus family indexed by one parameter, on cortical sheets.

A :class:`StimulusFamily` is a set of sounds indexed by a parameter (tone frequency, modulation
rate, …), optionally with several carriers per value (averaged) and an unmodulated control.
:func:`tuning_map` turns a layer's responses to it into each unit's tuning curve, preferred
value and selectivity on the sheet, with Moran's I of the preferred-value map and the TDANN
smoothness of the tuning curves, each against the sheet-permutation null
(:mod:`topoaudio_zoo.maps.stats`). :func:`family_maps` plays a family to a model.

Two families are built in: :func:`tone_family` (tonotopy: pure tones, 50 Hz – 8 kHz) and
:func:`am_family` (amplitude modulation: noise carriers at 2–64 Hz plus an unmodulated control).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..stimuli import am_noise, tone_set
from ..zoo.model import TopoAudioModel
from .responses import sheet_responses
from .stats import MapStatistic, sheet_permutation_test, smoothness_permutation_test

__all__ = [
    "StimulusFamily",
    "TuningMap",
    "am_family",
    "family_maps",
    "lifetime_sparseness",
    "tone_family",
    "tuning_map",
]


@dataclass(frozen=True)
class StimulusFamily:
    """Sounds indexed by one parameter.

    Attributes:
        name: e.g. ``"tonotopy"``.
        parameter: the parameter and its unit, e.g. ``"frequency (Hz)"``.
        values: ``(n_values,)`` increasing parameter values (positive: maps use their log).
        waveforms: ``(n_values, n_carriers, samples)`` model inputs; a unit's response to a
            value is its mean response over the carriers.
        control: ``(n_carriers, samples)`` control sounds (e.g. unmodulated carriers) or None.
    """

    name: str
    parameter: str
    values: np.ndarray
    waveforms: torch.Tensor
    control: torch.Tensor | None = None

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 1 or values.size < 2:
            raise ValueError(
                f"family {self.name!r}: needs at least 2 parameter values to map a preference, "
                f"got {values.size}"
            )
        if not (np.all(values > 0) and np.all(np.diff(values) > 0)):
            raise ValueError(f"family {self.name!r}: values must be positive and increasing")
        if self.waveforms.ndim != 3 or self.waveforms.shape[0] != values.size:
            raise ValueError(
                f"family {self.name!r}: waveforms must be (n_values={values.size}, n_carriers, "
                f"samples), got {tuple(self.waveforms.shape)}"
            )
        if self.control is not None and self.control.shape != self.waveforms.shape[1:]:
            raise ValueError(
                f"family {self.name!r}: control must be (n_carriers, samples) = "
                f"{tuple(self.waveforms.shape[1:])}, got {tuple(self.control.shape)}"
            )

    def sounds(self) -> torch.Tensor:
        """Every sound, ``(n_values · n_carriers [+ n_carriers], samples)``, control last."""
        sounds = self.waveforms.reshape(-1, self.waveforms.shape[-1])
        return sounds if self.control is None else torch.cat([sounds, self.control])


def tone_family(
    model: TopoAudioModel, low: float = 50.0, high: float = 8000.0, count: int = 48
) -> StimulusFamily:
    """Pure tones log-spaced from ``low`` to ``high`` Hz, as inputs of ``model``.

    Each tone fills the clip (10 ms ramps, RMS 0.1). Tones outside the front end's filter bank
    (``low_lim`` … ``high_lim``, 50 Hz – 10 kHz for ``cochleagram_1``) are refused.
    """
    config = model.cochleagram.config
    for name, freq in (("low", low), ("high", high)):
        if not config.low_lim <= freq <= config.high_lim:
            raise ValueError(
                f"{name}: a {freq:g} Hz tone is outside the front end's filter bank "
                f"({config.low_lim:g}–{config.high_lim:g} Hz): the cochleagram does not "
                "represent it"
            )
    if count < 2:
        raise ValueError(f"count: a tone family needs at least 2 tones, got {count}")
    freqs, tones = tone_set(model.sample_rate, model.clip_samples, low, high, count)
    return StimulusFamily("tonotopy", "frequency (Hz)", freqs, tones[:, None])


def am_family(
    model: TopoAudioModel,
    rates: Sequence[float] = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
    carriers: int = 2,
    depth: float = 1.0,
) -> StimulusFamily:
    """White-noise carriers amplitude-modulated at ``rates`` Hz, plus unmodulated carriers.

    ``carriers`` frozen noise samples (seeds 0, 1, …) are used at every rate, so the rates
    differ only in their modulation. Rates at or above half the cochleagram's envelope rate
    (``env_sr / 2``: 100 Hz for ``cochleagram_1``) are refused: the envelope is sampled at
    ``env_sr``, so such a modulation is aliased or removed and the model hears an unmodulated
    sound.
    """
    nyquist = model.cochleagram.env_sr / 2
    too_fast = [rate for rate in rates if rate >= nyquist]
    if too_fast:
        raise ValueError(
            f"rates: {too_fast} Hz are at or above half the cochleagram's envelope rate "
            f"({model.cochleagram.env_sr:g} Hz / 2 = {nyquist:g} Hz); the envelope cannot "
            "carry such a modulation, so the model hears an unmodulated sound"
        )
    if carriers < 1:
        raise ValueError(f"carriers: expected at least 1, got {carriers}")
    seconds = model.clip_samples / model.sample_rate
    sr = model.sample_rate

    def carrier_set(rate: float, modulation_depth: float) -> torch.Tensor:
        return torch.stack(
            [
                am_noise(rate, modulation_depth, seconds, sr, seed=seed)[: model.clip_samples]
                for seed in range(carriers)
            ]
        )

    waveforms = torch.stack([carrier_set(rate, depth) for rate in rates])
    return StimulusFamily(
        "amplitude modulation",
        "modulation rate (Hz)",
        np.asarray(rates, dtype=np.float64),
        waveforms,
        control=carrier_set(1.0, 0.0),
    )


def lifetime_sparseness(curves: np.ndarray) -> np.ndarray:
    """Selectivity of tuning curves ``(n_values, ...)`` → ``(...)`` in [0, 1].

    The lifetime sparseness (Vinje & Gallant 2000) of each curve shifted to a minimum of 0:
    ``(1 − mean(r)² / mean(r²)) / (1 − 1 / n)``: from ``1 / (n − 1)`` for equal responses to
    all but the weakest value to 1 for a response to one value only; NaN for a flat curve.
    """
    shifted = curves - curves.min(axis=0, keepdims=True)
    n = curves.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = shifted.mean(axis=0) ** 2 / (shifted**2).mean(axis=0)
    return (1 - ratio) / (1 - 1 / n)


@dataclass(frozen=True)
class TuningMap:
    """One layer's preferred-stimulus map for one family.

    Attributes:
        layer: the layer name.
        family: the family's name.
        parameter: the parameter and its unit.
        values: ``(n_values,)`` parameter values.
        curves: ``(n_values, H, W)`` tuning curves (mean response over carriers).
        preferred: ``(H, W)`` preferred value of each unit; NaN for a flat curve.
        selectivity: ``(H, W)`` :func:`lifetime_sparseness` of each curve.
        control: ``(H, W)`` responses to the control sounds, or None.
        morans_i: Moran's I of ``log(preferred)``, sheet-permutation null.
        smoothness: TDANN smoothness of the tuning curves, sheet-permutation null.
    """

    layer: str
    family: str
    parameter: str
    values: np.ndarray
    curves: np.ndarray
    preferred: np.ndarray
    selectivity: np.ndarray
    control: np.ndarray | None
    morans_i: MapStatistic
    smoothness: MapStatistic


def tuning_map(
    layer: str,
    family: StimulusFamily,
    responses: np.ndarray,
    n_permutations: int = 1000,
    seed: int = 0,
) -> TuningMap:
    """A :class:`TuningMap` from a layer's responses to every sound of ``family``.

    ``responses``: ``(n_sounds, H, W)`` in the order of :meth:`StimulusFamily.sounds`.
    """
    n_values, n_carriers = family.waveforms.shape[:2]
    responses = np.asarray(responses, dtype=np.float64)
    expected = len(family.sounds())
    if responses.ndim != 3 or responses.shape[0] != expected:
        raise ValueError(
            f"responses: expected ({expected}, H, W) for family {family.name!r}, "
            f"got {responses.shape}"
        )
    sheet = responses.shape[1:]
    curves = responses[: n_values * n_carriers].reshape(n_values, n_carriers, *sheet).mean(1)
    control = responses[n_values * n_carriers :].mean(0) if family.control is not None else None
    flat = np.ptp(curves, axis=0) <= 1e-9 * (np.abs(curves).max() + 1e-30)
    preferred = np.where(flat, np.nan, np.asarray(family.values)[curves.argmax(axis=0)])
    return TuningMap(
        layer=layer,
        family=family.name,
        parameter=family.parameter,
        values=np.asarray(family.values),
        curves=curves,
        preferred=preferred,
        selectivity=np.where(flat, np.nan, lifetime_sparseness(curves)),
        control=control,
        morans_i=sheet_permutation_test(np.log(preferred), n_permutations, seed),
        smoothness=smoothness_permutation_test(curves, n_permutations, seed),
    )


def family_maps(
    model: TopoAudioModel,
    family: StimulusFamily,
    layers: Sequence[str],
    n_permutations: int = 1000,
    seed: int = 0,
) -> list[TuningMap]:
    """Tuning maps of ``layers`` of ``model`` for ``family`` (one forward pass per batch).

    ``layers``: read-out names or module paths whose units lie on a sheet of at least 2 × 2
    (:func:`~topoaudio_zoo.maps.sheet_responses`).
    """
    responses = sheet_responses(model, family.sounds(), layers)
    return [tuning_map(layer, family, responses[layer], n_permutations, seed) for layer in layers]
