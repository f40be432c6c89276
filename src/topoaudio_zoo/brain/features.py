"""Model features for encoding models: each layer's response to each sound, averaged over time.

Conv read-outs keep channels × frequency (:func:`~topoaudio_zoo.analysis.extract_activations`
with ``pool="time"``), flattened to one row per sound. The spectrotemporal anchor
:data:`COCHLEAGRAM` (the time-averaged cochleagram, 211 channels) is always available as a
"model", so every result shows the floor a model must beat.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..analysis import extract_activations
from ..cochleagram import Cochleagram

__all__ = ["COCHLEAGRAM", "cochleagram_features", "model_features"]

COCHLEAGRAM = "cochleagram"


def cochleagram_features(
    waveforms: np.ndarray | torch.Tensor, batch_size: int = 16, progress: bool = False
) -> dict[str, np.ndarray]:
    """The time-averaged cochleagram (``cochleagram_1``) of 20 kHz, 2 s waveforms.

    Args:
        waveforms: ``(sounds, 40000)`` at 20 kHz (RMS 0.1 as the models hear them).

    Returns:
        ``{"cochleagram": (sounds, 211)}`` float32.
    """
    waveforms = torch.as_tensor(np.asarray(waveforms), dtype=torch.float32)
    front = Cochleagram()
    rows = []
    with torch.inference_mode():
        for start in tqdm(
            range(0, len(waveforms), batch_size), desc=COCHLEAGRAM, disable=not progress
        ):
            rows.append(front(waveforms[start : start + batch_size]).mean(dim=-1))
    return {COCHLEAGRAM: torch.cat(rows).numpy()}


def model_features(
    model: nn.Module | str | os.PathLike,
    waveforms: np.ndarray | torch.Tensor,
    layers: Sequence[str] | None = None,
    sr: int = 20000,
    batch_size: int = 16,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Each layer's time-averaged response to each sound, flattened: layer → ``(sounds, f)``.

    Args:
        model: a zoo model, a registry name / ``hf-hub:`` id / folder, :data:`COCHLEAGRAM`,
            or any ``nn.Module`` taking waveform batches (then ``layers`` are module paths).
        waveforms: ``(sounds, samples)`` at ``sr`` Hz.
        layers: read-out names or module paths; default every read-out stage of the model.
        sr: rate of ``waveforms`` in Hz.

    Raises:
        ValueError: a layer the model lacks (naming it and the available ones).
    """
    if isinstance(model, str) and model == COCHLEAGRAM:
        if layers and list(layers) != [COCHLEAGRAM]:
            raise ValueError(
                f"layers: {COCHLEAGRAM} has the one layer {COCHLEAGRAM!r}, got {list(layers)}"
            )
        if sr != 20000:
            raise ValueError(f"sr: the {COCHLEAGRAM} anchor takes 20 kHz waveforms, got {sr}")
        return cochleagram_features(waveforms, batch_size, progress)
    waveforms = torch.as_tensor(np.asarray(waveforms), dtype=torch.float32)
    activations = extract_activations(
        model,
        waveforms,
        None if layers is None else list(layers),
        pool="time",
        sr=sr,
        batch_size=batch_size,
        progress=progress,
    )
    return {
        layer: np.asarray(values, dtype=np.float32).reshape(len(waveforms), -1)
        for layer, values in activations.items()
    }
