"""Score every layer of a model against brain targets and pick the best layer (JSON-ready)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from .protocol import LayerScores, aggregate, best_layer, make_splits, score_layer
from .ridge import RELATIVE_ALPHAS
from .targets import BrainTargets

__all__ = ["align_features", "evaluate_features", "score_layers"]


def align_features(
    features: Mapping[str, np.ndarray], sounds: Sequence[str], targets: BrainTargets
) -> dict[str, np.ndarray]:
    """Reorder feature rows (named by ``sounds``) to the targets' sound order."""
    row = {name: i for i, name in enumerate(sounds)}
    missing = [s for s in targets.sounds if s not in row]
    if missing:
        raise ValueError(f"features: no row for the sounds {missing[:10]} of {targets.dataset}")
    order = np.array([row[s] for s in targets.sounds])
    aligned = {}
    for layer, values in features.items():
        values = np.asarray(values)
        if values.ndim != 2 or len(values) != len(sounds):
            raise ValueError(
                f"layer {layer!r}: expected ({len(sounds)} sounds, features), got {values.shape}"
            )
        aligned[layer] = values[order]
    return aligned


def score_layers(
    features: Mapping[str, np.ndarray],
    responses: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    relative_alphas: np.ndarray = RELATIVE_ALPHAS,
    progress: bool = True,
    desc: str = "layers",
) -> dict[str, LayerScores]:
    """:func:`~topoaudio_zoo.brain.protocol.score_layer` for every layer, with a progress bar."""
    return {
        layer: score_layer(values, responses, splits, relative_alphas, name=f"layer {layer!r}")
        for layer, values in tqdm(features.items(), desc=desc, unit="layer", disable=not progress)
    }


def _summary(
    scores: Mapping[str, LayerScores], targets: BrainTargets, repeats: int, seed: int
) -> tuple[dict, dict, float]:
    """Per-layer and best-layer scores keyed by component, or by ROI for voxels, and the mean
    best-layer score (over components; voxels: ROI ``all``)."""
    if not targets.voxelwise:
        per_layer = {
            layer: dict(zip(targets.target_names, map(float, s.median()), strict=True))
            for layer, s in scores.items()
        }
        values, chosen = best_layer(scores, repeats=repeats, seed=seed)
        best = {
            name: {"r2": float(v), "chosen": c}
            for name, v, c in zip(targets.target_names, values, chosen, strict=True)
        }
        return per_layer, best, float(values.mean())
    participants = targets.participants
    per_layer = {}
    for layer, s in scores.items():
        medians = np.minimum(s.median(), 1.0)
        per_layer[layer] = {
            roi: aggregate(medians[mask], participants[mask]) for roi, mask in targets.rois.items()
        }
    best = {}
    for roi, mask in targets.rois.items():
        ids = np.unique(participants[mask])
        groups = [np.flatnonzero(mask & (participants == p)) for p in ids]
        values, chosen = best_layer(scores, groups=groups, repeats=repeats, seed=seed, clip=True)
        sem = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
        best[roi] = {
            "mean": float(values.mean()),
            "sem": sem,
            "participants": {str(p): float(v) for p, v in zip(ids, values, strict=True)},
            "chosen": {str(p): c for p, c in zip(ids, chosen, strict=True)},
        }
    return per_layer, best, best["all"]["mean"]


def evaluate_features(
    features: Mapping[str, np.ndarray],
    sounds: Sequence[str],
    targets: BrainTargets,
    n_splits: int = 10,
    seed: int = 0,
    repeats: int = 10,
    relative_alphas: np.ndarray = RELATIVE_ALPHAS,
    null: bool = True,
    progress: bool = True,
) -> dict:
    """The whole protocol for one model's layers (see :mod:`~topoaudio_zoo.brain.protocol`).

    Args:
        features: layer → ``(sounds, features)``, rows named by ``sounds``.
        sounds: the stimulus name of each feature row.
        targets: the brain responses.
        n_splits: 83/82 splits (seeded by ``seed``).
        repeats: best-layer halvings of the splits.
        null: also run the protocol with the targets' sounds shuffled (one seeded
            permutation): the score a model reaches by chance, best-layer selection included.

    Returns:
        ``{"layers", "n_features", "per_layer", "best_layer", "mean_best_layer", "null"}``:
        per-layer medians over splits keyed by component (or, for voxels, mean ± SEM over
        participants keyed by ROI); best-layer scores and how often each layer was chosen;
        ``mean_best_layer``: over components (voxels: ROI ``all``); ``null``: the same mean
        with shuffled sounds.
    """
    aligned = align_features(features, sounds, targets)
    splits = make_splits(len(targets.sounds), n_splits=n_splits, seed=seed)
    scores = score_layers(aligned, targets.responses, splits, relative_alphas, progress)
    per_layer, best, mean = _summary(scores, targets, repeats, seed)
    result = {
        "layers": list(aligned),
        "n_features": {layer: int(np.median(s.n_features)) for layer, s in scores.items()},
        "per_layer": per_layer,
        "best_layer": best,
        "mean_best_layer": mean,
    }
    if null:
        shuffled = np.random.default_rng(seed + 1).permutation(len(targets.sounds))
        null_targets = BrainTargets(
            targets.dataset,
            targets.sounds,
            targets.responses[shuffled],
            targets.target_names,
            targets.participants,
            targets.rois,
        )
        null_scores = score_layers(
            aligned, null_targets.responses, splits, relative_alphas, progress, "null layers"
        )
        result["null"] = _summary(null_scores, null_targets, repeats, seed)[2]
    return result
