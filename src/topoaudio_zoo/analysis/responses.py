"""Responses of a model's units to a set of sounds, as ``(units, sounds)`` profiles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..zoo.model import TopoAudioModel

__all__ = ["unit_responses"]


@torch.no_grad()
def unit_responses(
    model: TopoAudioModel,
    waveforms: torch.Tensor,
    layers: Sequence[str],
    batch_size: int = 32,
) -> dict[str, np.ndarray]:
    """Each unit's mean output over frequency and time, for every sound.

    Args:
        model: the model (put in eval mode for the call, restored after).
        waveforms: prepared model inputs ``(n_sounds, clip_samples)``.
        layers: read-out names or module paths (e.g. the topographic layers
            ``layer1.0.conv1``); a conv layer's units are its output channels.
        batch_size: sounds per forward pass.

    Returns:
        ``{layer: (n_units, n_sounds) float64}``; unit ``i`` is output channel ``i``, which sits
        at ``(i // W, i % W)`` on the layer's sheet.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for start in range(0, waveforms.shape[0], batch_size):
        batch = waveforms[start : start + batch_size].to(device)
        outputs = model.backbone.forward_intermediates(model.cochleagram(batch), list(layers))
        for layer, output in outputs.items():
            pooled = output.flatten(2).mean(-1) if output.ndim > 2 else output
            chunks[layer].append(pooled.double().cpu().numpy())
    model.train(was_training)
    return {layer: np.concatenate(parts).T for layer, parts in chunks.items()}
