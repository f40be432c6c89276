"""Evaluation of a trained model: accuracy per task on held-out data, and topography.

Protocol (``evaluate_model``):

- **Accuracy**: top-1 on the test split of a :class:`~topoaudio_zoo.data.WSNDataModule` built
  like the training one. Words are scored on the held-out voices (speakers never heard in
  training: their speaker target is -100) and, separately, on all test clips; speakers on the
  held-out clips of training speakers; background families on held-out instruments (the
  background source's own test split).
- **Smoothness** (TDANN: ``(max(curve) − curve[0]) / max(curve)``, see
  :mod:`topoaudio_zoo.topography.smoothness`) of every topographic layer:
  *response-based* on a fixed stimulus set — log-spaced pure tones (50 Hz–8 kHz) and the first
  ``n_clips`` test mixtures — with each unit's response its output averaged over frequency and
  time (units as the loss sees them: the conv's output channels); *weight-based* on the units'
  incoming weight vectors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..stimuli import tone_set
from ..topography import smoothness, weight_smoothness
from ..zoo.model import TopoAudioModel
from .responses import unit_responses

__all__ = ["acceptance", "evaluate_model"]

IGNORE_INDEX = -100


def _check_labels(model: TopoAudioModel, tasks: dict[str, list[str]]) -> None:
    for task, labels in model.label_names.items():
        if task not in tasks:
            raise ValueError(f"the data has no {task!r} targets; it has {sorted(tasks)}")
        if list(tasks[task]) != list(labels):
            raise ValueError(
                f"{task}: the data's class names differ from the model's (was the model trained "
                "on these corpora, with the same seed and speaker hold-out?)"
            )


def _fraction(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


@torch.no_grad()
def _accuracy(model: TopoAudioModel, loader, keep: int) -> tuple[dict, dict, torch.Tensor]:
    hits: dict[str, int] = {}
    counts: dict[str, int] = {}
    kept = []
    for batch in loader:
        logits = model(batch["waveform"])
        targets = batch["targets"]
        unseen_voice = targets["speaker"] == IGNORE_INDEX if "speaker" in targets else None
        for task, values in logits.items():
            target = targets[task]
            valid = target != IGNORE_INDEX
            correct = (values.argmax(-1) == target) & valid
            groups = {"all": valid}
            if task == "word" and unseen_voice is not None:
                groups["heldout_voices"] = valid & unseen_voice
            for group, mask in groups.items():
                key = f"{task}_top1_{group}"
                hits[key] = hits.get(key, 0) + int(correct[mask].sum())
                counts[key] = counts.get(key, 0) + int(mask.sum())
        if sum(len(w) for w in kept) < keep:
            kept.append(batch["waveform"])
    accuracy = {key: _fraction(hits[key], counts[key]) for key in hits}
    return accuracy, counts, torch.cat(kept)[:keep]


def evaluate_model(
    model: TopoAudioModel, datamodule: Any, n_clips: int = 256, n_tones: int = 48
) -> dict[str, Any]:
    """Accuracy and smoothness of ``model`` (see the module docstring for the protocol).

    Args:
        model: a trained model whose heads match the data's tasks.
        datamodule: a set-up ``WSNDataModule`` (its test split is used).
        n_clips: test mixtures added to the tones for response-based smoothness.
        n_tones: pure tones, log-spaced 50 Hz – 8 kHz.

    Returns:
        ``{"accuracy": {...}, "counts": {...}, "smoothness_response": {layer: s},
        "smoothness_weight": {layer: s}}``.
    """
    _check_labels(model, datamodule.tasks)
    model.eval()
    accuracy, counts, clips = _accuracy(model, datamodule.test_dataloader(), n_clips)
    _, tones = tone_set(model.sample_rate, model.clip_samples, count=n_tones)
    layers = model.topographic_loss().layer_names
    # The recorded protocol: each conv's raw output, mean over frequency and time.
    responses = unit_responses(model, torch.cat([tones, clips]), layers, raw=True)
    modules = dict(model.backbone.named_modules())
    return {
        "accuracy": accuracy,
        "counts": counts,
        "smoothness_response": {layer: smoothness(responses[layer]) for layer in layers},
        "smoothness_weight": {layer: weight_smoothness(modules[layer]) for layer in layers},
        "stimuli": {"tones": int(tones.shape[0]), "test_clips": int(clips.shape[0])},
    }


def acceptance(
    results: dict[str, dict[str, Any]], baseline: str, max_word_drop: float = 0.03
) -> dict[str, dict[str, Any]]:
    """Check every other model against ``baseline``.

    A model passes when its smoothness (response- and weight-based) is higher than the
    baseline's at every topographic layer and its word accuracy on held-out voices is at most
    ``max_word_drop`` below the baseline's.

    Returns:
        ``{model: {"passed": bool, "word_drop": float, "not_smoother": [layer (kind), ...]}}``.
    """
    if baseline not in results:
        raise ValueError(f"baseline: {baseline!r} is not among the evaluated models")
    base = results[baseline]
    verdicts = {}
    for name, result in results.items():
        if name == baseline:
            continue
        worse = [
            f"{layer} ({kind.split('_')[1]})"
            for kind in ("smoothness_response", "smoothness_weight")
            for layer, value in result[kind].items()
            if not value > base[kind][layer]
        ]
        drop = (
            base["accuracy"]["word_top1_heldout_voices"]
            - result["accuracy"]["word_top1_heldout_voices"]
        )
        verdicts[name] = {
            "passed": not worse and drop <= max_word_drop,
            "word_drop": drop,
            "not_smoother": worse,
            "mean_smoothness_gain": {
                kind: float(np.mean([result[kind][k] - base[kind][k] for k in result[kind]]))
                for kind in ("smoothness_response", "smoothness_weight")
            },
        }
    return verdicts
