"""Responses of a model's units to a set of sounds, as ``(units, sounds)`` profiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..zoo.model import TopoAudioModel
from .activations import extract_activations

__all__ = ["unit_responses"]


def unit_responses(
    model: TopoAudioModel,
    waveforms: torch.Tensor,
    layers: Sequence[str],
    batch_size: int = 32,
    raw: bool = False,
) -> dict[str, np.ndarray]:
    """Each unit's mean response over frequency and time, for every sound.

    Args:
        model: the model.
        waveforms: prepared model inputs ``(n_sounds, clip_samples)``.
        layers: read-out names or module paths (e.g. the topographic layers
            ``layer1.0.conv1``); a conv layer's units are its output channels.
        batch_size: sounds per forward pass.
        raw: read conv layers named by path before their normalisation and non-linearity;
            by default after them (the unit's response, see
            :mod:`~topoaudio_zoo.analysis.readouts`).

    Returns:
        ``{layer: (n_units, n_sounds) float64}``; unit ``i`` sits at ``(i // W, i % W)`` on the
        layer's sheet (:func:`~topoaudio_zoo.analysis.extract_activations`, ``pool="unit"``).
    """
    acts = extract_activations(
        model, waveforms, list(layers), pool="unit", raw=raw, batch_size=batch_size, progress=False
    )
    return {
        layer: np.asarray(acts[layer], dtype=np.float64).reshape(len(waveforms), -1).T
        for layer in layers
    }
