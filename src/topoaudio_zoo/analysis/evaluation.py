"""Evaluation of a trained model: accuracy per task on held-out data, and topography.

Protocol (``evaluate_model``):

- **Accuracy**: top-1 on the test split of a :class:`~topoaudio_zoo.data.WSNDataModule` built
  like the training one. Words are scored on the held-out voices (speakers never heard in
  training: their speaker target is -100) and, separately, on all test clips; speakers on the
  held-out clips of training speakers; background families on held-out instruments (the
  background source's own test split). Optional ``speaker_groups`` score words on named sets
  of speakers too (``word_top1_<group>``), e.g. ``heldout_engines``: the speakers of speech
  engines never heard in training. Backgrounds are also scored by balanced top-1
  (``background_balanced_top1_all``: the mean over classes of each class's recall, chance
  1 / classes), since a background source may be unbalanced (the background corpus is 77 %
  music, so always answering "music" scores 77 % plain top-1).
- **Smoothness** (TDANN: ``(max(curve) − curve[0]) / max(curve)``, see
  :mod:`topoaudio_zoo.topography.smoothness`) of every topographic layer:
  *response-based* on a fixed stimulus set — log-spaced pure tones (50 Hz–8 kHz) and the first
  ``n_clips`` test mixtures — with each unit's response its output averaged over frequency and
  time (units as the loss sees them: the conv's output channels); *weight-based* on the units'
  incoming weight vectors.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

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


def _speaker_of(key: str) -> str:
    """``"yes/0a1b2c3d_nohash_0.wav"`` → ``"0a1b2c3d"``."""
    return key.rsplit("/", 1)[-1].split("_nohash_", 1)[0]


@torch.no_grad()
def _accuracy(
    model: TopoAudioModel,
    loader,
    keep: int,
    speaker_groups: Mapping[str, Collection[str]],
    progress: str | None = None,
) -> tuple[dict, dict, torch.Tensor]:
    hits: dict[str, int] = {}
    counts: dict[str, int] = {}
    per_class: dict[int, list[int]] = {}  # background class → [hits, count]
    kept = []
    for batch in tqdm(loader, desc=progress, unit="batch", disable=progress is None):
        logits = model(batch["waveform"])
        targets = batch["targets"]
        unseen_voice = targets["speaker"] == IGNORE_INDEX if "speaker" in targets else None
        speakers = [_speaker_of(key) for key in batch["key"]]
        in_group = {
            name: torch.tensor([s in members for s in speakers], dtype=torch.bool)
            for name, members in speaker_groups.items()
        }
        for task, values in logits.items():
            target = targets[task]
            valid = target != IGNORE_INDEX
            correct = (values.argmax(-1) == target) & valid
            groups = {"all": valid}
            if task == "word":
                groups |= {name: valid & mask for name, mask in in_group.items()}
            if task == "word" and unseen_voice is not None:
                groups["heldout_voices"] = valid & unseen_voice
            if task == "background":
                for label, hit in zip(target[valid].tolist(), correct[valid].tolist(), strict=True):
                    tally = per_class.setdefault(label, [0, 0])
                    tally[0] += int(hit)
                    tally[1] += 1
            for group, mask in groups.items():
                key = f"{task}_top1_{group}"
                hits[key] = hits.get(key, 0) + int(correct[mask].sum())
                counts[key] = counts.get(key, 0) + int(mask.sum())
        if sum(len(w) for w in kept) < keep:
            kept.append(batch["waveform"])
    accuracy = {key: _fraction(hits[key], counts[key]) for key in hits}
    if per_class:
        recalls = [_fraction(hit, count) for hit, count in per_class.values()]
        accuracy["background_balanced_top1_all"] = float(np.mean(recalls))
        counts["background_balanced_top1_all"] = sum(count for _, count in per_class.values())
    return accuracy, counts, torch.cat(kept)[:keep]


def evaluate_model(
    model: TopoAudioModel,
    datamodule: Any,
    n_clips: int = 256,
    n_tones: int = 48,
    speaker_groups: Mapping[str, Collection[str]] | None = None,
    progress: str | None = None,
) -> dict[str, Any]:
    """Accuracy and smoothness of ``model`` (see the module docstring for the protocol).

    Args:
        model: a trained model whose heads match the data's tasks.
        datamodule: a set-up ``WSNDataModule`` (its test split is used).
        n_clips: test mixtures added to the tones for response-based smoothness.
        n_tones: pure tones, log-spaced 50 Hz – 8 kHz.
        speaker_groups: ``{group: speaker ids}``; words are also scored on each group's clips
            (``word_top1_<group>``; NaN when the test split has none).
        progress: when given, a progress bar over the test batches with this label (stderr).

    Returns:
        ``{"accuracy": {...}, "counts": {...}, "smoothness_response": {layer: s},
        "smoothness_weight": {layer: s}}``.
    """
    _check_labels(model, datamodule.tasks)
    model.eval()
    accuracy, counts, clips = _accuracy(
        model, datamodule.test_dataloader(), n_clips, speaker_groups or {}, progress
    )
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
    baseline's at every topographic layer and its word accuracy on held-out voices, and on
    held-out engines when they were scored, is at most ``max_word_drop`` below the baseline's.

    Returns:
        ``{model: {"passed": bool, "word_drop": float, "word_drop_heldout_engines": float
        (when scored), "not_smoother": [layer (kind), ...]}}``.
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
        drops = {
            group: base["accuracy"][f"word_top1_{group}"] - result["accuracy"][f"word_top1_{group}"]
            for group in ("heldout_voices", "heldout_engines")
            if f"word_top1_{group}" in result["accuracy"]
        }
        verdicts[name] = {
            "passed": not worse and all(drop <= max_word_drop for drop in drops.values()),
            "word_drop": drops["heldout_voices"],
            **({"word_drop_heldout_engines": drops["heldout_engines"]} if len(drops) > 1 else {}),
            "not_smoother": worse,
            "mean_smoothness_gain": {
                kind: float(np.mean([result[kind][k] - base[kind][k] for k in result[kind]]))
                for kind in ("smoothness_response", "smoothness_weight")
            },
        }
    return verdicts
