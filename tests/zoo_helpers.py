"""Tiny zoo models for tests: a width-4 CochResNet18 on 0.2-s clips, saved and compared."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from topoaudio_zoo.zoo import TopoAudioModel

__all__ = ["TINY_CONFIG", "assert_same_weights", "saved_model", "tiny_model", "write_tone"]

TINY_CONFIG: dict[str, Any] = {
    "name": "tiny-test-model",
    "description": "a width-4 CochResNet18 for tests",
    "architecture": "cochresnet18",
    "architecture_kwargs": {"width": 4},
    "cochleagram": {"overrides": {"signal_size": 4000}},
    "heads": {
        "word": {"labels": ["yes", "no", "up"]},
        "noise": {"num_classes": 2, "type": "multilabel", "labels": ["rain", "wind"]},
    },
    "topography": {"tau": 25.0, "factor": 4.0},
    "training_data": {"description": "synthetic tones"},
}


def tiny_model(seed: int = 0, **overrides: Any) -> TopoAudioModel:
    """The tiny model with weights (and batch-norm statistics) drawn from ``seed``."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(overrides)
    torch.manual_seed(seed)
    model = TopoAudioModel(config)
    with torch.no_grad():
        for name, buffer in model.named_buffers():
            if name.endswith("running_mean"):
                buffer.normal_()
            elif name.endswith("running_var"):
                buffer.uniform_(0.5, 2.0)
    return model.eval()


def saved_model(folder: Path, seed: int = 0, **overrides: Any) -> TopoAudioModel:
    """Save :func:`tiny_model` into ``folder`` with ``save_pretrained``; returns the model."""
    model = tiny_model(seed, **overrides)
    model.save_pretrained(folder)
    return model


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Same state-dict keys, and every tensor equal (dtype and values)."""
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert torch.equal(sa[key], sb[key]), key


def write_tone(
    path: Path, freq: float, sr: int, seconds: float = 0.3, channels: int = 1
) -> np.ndarray:
    """A sine at ``freq`` Hz written as 16-bit WAV; channel ``c`` has amplitude 0.2·(c+1).

    Returns the samples written, ``(time,)`` or ``(time, channels)``.
    """
    t = np.arange(round(seconds * sr)) / sr
    tone = np.sin(2 * np.pi * freq * t)
    data = (
        tone * 0.2
        if channels == 1
        else np.stack([tone * 0.2 * (c + 1) for c in range(channels)], 1)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, data, sr, subtype="PCM_16")
    return data
