"""One value per unit per sound, on each layer's cortical sheet, for map analyses."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..analysis import extract_activations
from ..zoo.model import TopoAudioModel

__all__ = ["check_on_sheet", "sheet_responses"]


def check_on_sheet(layer: str, responses: np.ndarray) -> np.ndarray:
    """``responses`` ``(sounds, H, W)`` as float64; a sheet thinner than 2 × 2 raises.

    A layer whose unit count only factors as ``1 × n`` (e.g. a head of 479 speakers) has no
    2-D neighbourhood, so no map statistic is defined on it.
    """
    array = np.asarray(responses, dtype=np.float64)
    if array.ndim != 3:
        raise ValueError(f"layer {layer!r}: expected (sounds, H, W) responses, got {array.shape}")
    if min(array.shape[1:]) < 2:
        height, width = array.shape[1:]
        raise ValueError(
            f"layer {layer!r} is not on a 2-D sheet: its {height * width} units lie on a "
            f"{height} × {width} sheet (no neighbours in one direction); choose another layer"
        )
    return array


def sheet_responses(
    model: TopoAudioModel,
    waveforms: torch.Tensor,
    layers: Sequence[str],
    batch_size: int = 16,
) -> dict[str, np.ndarray]:
    """Each unit's response to each sound, averaged over frequency and time (or tokens).

    Args:
        model: the model.
        waveforms: ``(sounds, samples)`` at the model's rate.
        layers: read-out names or module paths, each on a sheet of at least 2 × 2 units.
        batch_size: sounds per forward pass.

    Returns:
        ``{layer: (sounds, H, W) float64}``.
    """
    probe = extract_activations(model, waveforms[:1], list(layers), pool="unit", progress=False)
    for layer in layers:  # a layer off any 2-D sheet fails before the long pass
        check_on_sheet(layer, probe[layer])
    acts = extract_activations(
        model, waveforms, list(layers), pool="unit", batch_size=batch_size, progress=False
    )
    return {layer: check_on_sheet(layer, acts[layer]) for layer in layers}
