"""Tonotopy: every unit's best frequency among log-spaced pure tones, laid out on its sheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..stimuli import log_spaced, pure_tone
from ..topography import sheet_shape, smoothness
from ..zoo.model import TopoAudioModel
from .responses import unit_responses

__all__ = ["TonotopyMap", "tone_set", "tonotopy_maps"]


@dataclass(frozen=True)
class TonotopyMap:
    """One layer's best-frequency map.

    Attributes:
        layer: module path of the layer.
        best_frequency: ``(H, W)`` best frequency in Hz of each unit; NaN for units whose
            response does not depend on the tone.
        smoothness: TDANN smoothness of the units' tone-response profiles on the sheet (NaN
            when undefined).
    """

    layer: str
    best_frequency: np.ndarray
    smoothness: float


def tone_set(
    model: TopoAudioModel, low: float = 50.0, high: float = 8000.0, count: int = 48
) -> tuple[np.ndarray, torch.Tensor]:
    """Pure tones, log-spaced from ``low`` to ``high`` Hz, as model inputs.

    Returns:
        ``(frequencies (count,) Hz, waveforms (count, clip_samples))``: each tone lasts the whole
        clip with 10 ms ramps, at the model's rate, demeaned, RMS 0.1.
    """
    freqs = log_spaced(low, high, count)
    seconds = model.clip_samples / model.sample_rate
    tones = torch.stack([pure_tone(f, seconds, model.sample_rate) for f in freqs])
    return freqs, tones[:, : model.clip_samples]


def tonotopy_maps(
    model: TopoAudioModel,
    layers: Sequence[str] | None = None,
    freqs: np.ndarray | None = None,
    tones: torch.Tensor | None = None,
) -> list[TonotopyMap]:
    """Best-frequency maps of ``layers`` (default: the model's topographic layers).

    A unit's response to a tone is its output after its normalisation and non-linearity (for a
    ResNet block conv: after its BN and the ReLU that follows; see
    :mod:`~topoaudio_zoo.analysis.readouts`), averaged over frequency and time; its best
    frequency is the tone with the largest response.
    """
    if freqs is None or tones is None:
        freqs, tones = tone_set(model)
    layers = list(layers or model.topographic_loss().layer_names)
    responses = unit_responses(model, tones, layers)
    maps = []
    for layer in layers:
        profile = responses[layer]
        best = np.asarray(freqs)[profile.argmax(axis=1)].astype(float)
        best[np.ptp(profile, axis=1) <= 1e-12 * (np.abs(profile).max() + 1e-30)] = np.nan
        try:
            score = smoothness(profile)
        except ValueError:
            score = float("nan")
        maps.append(TonotopyMap(layer, best.reshape(sheet_shape(profile.shape[0])), score))
    return maps
