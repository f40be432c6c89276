"""The encoding-model protocol of Tuckute, Feather, Boebinger & McDermott (2023).

For every layer: 10 seeded splits of the 165 sounds into 83 training and 82 test sounds; ridge
regression (:func:`~topoaudio_zoo.brain.ridge.ridge_loo`, penalty by leave-one-out on the
training sounds); Pearson r between predicted and measured test responses, negative r set to 0,
squared. Voxels (responses ``(sounds, voxels, 3 repetitions)``) are fitted on the mean over
repetitions and noise-corrected: the same model is fitted on each repetition alone;
``rv`` = median over repetition pairs of the correlation of the measured training responses and
``rv̂`` = the same for the predicted test responses of the single-repetition models, each
Spearman–Brown corrected (``3r / (1 + 2r)``) and floored at 0.182 (``rv``) and 0.183 (``rv̂``);
corrected R² = R² / (rv · rv̂). Per target, the median over splits (clipped at 1 for voxels).

The best layer is chosen on 5 splits and scored on the other 5, repeated 10 times (seeded):
per component, or per participant (on the median over its voxels) for voxels. Aggregation for
voxels: per participant the median over voxels, then mean ± SEM over participants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .ridge import RELATIVE_ALPHAS, check_finite, ridge_loo

__all__ = [
    "RV_FLOOR",
    "RV_HAT_FLOOR",
    "LayerScores",
    "aggregate",
    "best_layer",
    "make_splits",
    "pearson_columns",
    "score_layer",
    "spearman_brown",
]

N_SPLITS = 10
N_TRAIN = 83
N_TEST = 82
RV_FLOOR = 0.182
RV_HAT_FLOOR = 0.183


def make_splits(
    n_sounds: int,
    n_splits: int = N_SPLITS,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` random (seeded) disjoint ``(train, test)`` index arrays of the sounds."""
    if n_train < 3 or n_test < 3 or n_train + n_test > n_sounds:
        raise ValueError(
            f"splits: {n_train} training + {n_test} test sounds do not fit {n_sounds} sounds "
            "(each needs at least 3)"
        )
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(n_splits):
        order = rng.permutation(n_sounds)
        splits.append((np.sort(order[:n_train]), np.sort(order[n_train : n_train + n_test])))
    return splits


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of matching columns of ``(n, t)`` arrays; NaN where a column is constant."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    denominator = np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (a * b).sum(axis=0) / denominator, np.nan)


def spearman_brown(r: np.ndarray, floor: float) -> np.ndarray:
    """``3r / (1 + 2r)`` (three repetitions), at least ``floor``; NaN becomes ``floor``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = 3 * r / (1 + 2 * r)
    return np.where(np.isnan(corrected), floor, np.maximum(corrected, floor))


@dataclass(frozen=True)
class LayerScores:
    """One layer's scores on every split.

    Attributes:
        r2: ``(targets, splits)`` test R² (noise-corrected for voxels; not clipped).
        r2_raw: ``(targets, splits)`` test R² before noise correction.
        alphas: ``(targets, splits)`` chosen penalties (models fitted on the mean response).
        n_features: features used (non-constant) in each split.
    """

    r2: np.ndarray
    r2_raw: np.ndarray
    alphas: np.ndarray
    n_features: list[int]

    def median(self, splits: Sequence[int] | None = None) -> np.ndarray:
        """``(targets,)`` median over the given splits (all by default)."""
        chosen = self.r2 if splits is None else self.r2[:, list(splits)]
        return np.median(chosen, axis=1)


def _r2(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Pearson r² with negative (and undefined: constant prediction) r set to 0."""
    r = pearson_columns(predicted, measured)
    return np.where(np.isnan(r), 0.0, np.clip(r, 0.0, None)) ** 2


def score_layer(
    features: np.ndarray,
    targets: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    relative_alphas: np.ndarray = RELATIVE_ALPHAS,
    name: str = "features",
) -> LayerScores:
    """Fit and score one feature matrix on every split.

    Args:
        features: ``(sounds, features)``.
        targets: ``(sounds, components)`` (scored without noise correction) or
            ``(sounds, voxels, repetitions)`` (noise-corrected; 3 repetitions, as the
            Spearman–Brown factor assumes).
        splits: from :func:`make_splits`.
        relative_alphas: the ridge grid (see :mod:`~topoaudio_zoo.brain.ridge`).
        name: what to call the features in errors (e.g. the layer).

    Returns:
        :class:`LayerScores`.
    """
    features = np.asarray(features)
    targets = np.asarray(targets, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(targets):
        raise ValueError(
            f"{name}: expected ({len(targets)} sounds, features), got shape {features.shape}"
        )
    if targets.ndim == 3 and targets.shape[2] != 3:
        raise ValueError(f"targets: expected 3 repetitions, got shape {targets.shape}")
    if targets.ndim not in (2, 3):
        raise ValueError(
            f"targets: expected (sounds, t) or (sounds, voxels, 3), got {targets.shape}"
        )
    check_finite(features, name)
    check_finite(targets, "targets")
    voxels = targets.ndim == 3
    n_targets = targets.shape[1]
    # One SVD per split serves the mean response and, for voxels, every repetition.
    stacked = (
        np.concatenate([targets.mean(axis=2), *np.moveaxis(targets, 2, 0)], axis=1)
        if voxels
        else targets
    )
    r2 = np.empty((n_targets, len(splits)))
    r2_raw = np.empty_like(r2)
    alphas = np.empty_like(r2)
    n_features = []
    for k, (train, test) in enumerate(splits):
        fit = ridge_loo(features[train], stacked[train], features[test], relative_alphas)
        n_features.append(fit.n_features)
        predicted = fit.predictions[:, :n_targets]
        r2_raw[:, k] = _r2(predicted, stacked[test, :n_targets])
        alphas[:, k] = fit.alphas[:n_targets]
        if not voxels:
            r2[:, k] = r2_raw[:, k]
            continue
        reps = [fit.predictions[:, n_targets * (i + 1) : n_targets * (i + 2)] for i in range(3)]
        pairs = list(combinations(range(3), 2))
        rv = np.nanmedian(
            [pearson_columns(targets[train, :, i], targets[train, :, j]) for i, j in pairs],
            axis=0,
        )
        rv_hat = np.nanmedian([pearson_columns(reps[i], reps[j]) for i, j in pairs], axis=0)
        r2[:, k] = r2_raw[:, k] / (
            spearman_brown(rv, RV_FLOOR) * spearman_brown(rv_hat, RV_HAT_FLOOR)
        )
    return LayerScores(r2=r2, r2_raw=r2_raw, alphas=alphas, n_features=n_features)


def best_layer(
    scores: Mapping[str, LayerScores],
    groups: Sequence[np.ndarray] | None = None,
    repeats: int = 10,
    seed: int = 0,
    clip: bool = False,
) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Best-layer scores: chosen on half the splits, scored on the other half, ``repeats`` times.

    Args:
        scores: layer → :class:`LayerScores` (every layer on the same splits).
        groups: ``None`` to choose per target (components); else index arrays of targets
            (voxels of one participant) whose median over targets chooses the layer.
        repeats: how many random halvings of the splits (seeded).
        seed: the halvings' seed.
        clip: clip each target's median over splits at 1 (noise-corrected voxels).

    Returns:
        ``(values, chosen)``: values ``(units,)`` mean over repeats of the held-out score
        (units: targets, or groups with the group's median over its targets); chosen: for each
        unit, how often each layer was chosen.
    """
    layers = list(scores)
    if not layers:
        raise ValueError("scores: no layers")
    n_splits = next(iter(scores.values())).r2.shape[1]
    rng = np.random.default_rng(seed)
    n_units = len(groups) if groups is not None else next(iter(scores.values())).r2.shape[0]
    values = np.zeros(n_units)
    chosen: list[dict[str, int]] = [{} for _ in range(n_units)]

    def unit_scores(splits: np.ndarray) -> np.ndarray:  # (layers, units)
        medians = np.stack([scores[layer].median(splits) for layer in layers])
        if clip:
            medians = np.minimum(medians, 1.0)
        if groups is None:
            return medians
        return np.stack([np.median(medians[:, g], axis=1) for g in groups], axis=1)

    for _ in range(repeats):
        order = rng.permutation(n_splits)
        select, held_out = order[: n_splits // 2], order[n_splits // 2 :]
        best = np.argmax(unit_scores(select), axis=0)
        held = unit_scores(held_out)
        values += held[best, np.arange(n_units)]
        for unit, index in enumerate(best):
            chosen[unit][layers[index]] = chosen[unit].get(layers[index], 0) + 1
    return values / repeats, chosen


def aggregate(values: np.ndarray, participants: np.ndarray) -> dict[str, float | int]:
    """Per participant the median over its voxels, then mean ± SEM over participants.

    Args:
        values: ``(voxels,)`` scores.
        participants: ``(voxels,)`` participant of each voxel.

    Returns:
        ``{"mean", "sem", "participants", "voxels"}`` (SEM: standard deviation with ``ddof=1``
        over √participants; 0 for one participant).
    """
    ids = np.unique(participants)
    medians = np.array([np.median(values[participants == p]) for p in ids])
    sem = float(medians.std(ddof=1) / np.sqrt(len(ids))) if len(ids) > 1 else 0.0
    return {
        "mean": float(medians.mean()),
        "sem": sem,
        "participants": len(ids),
        "voxels": len(values),
    }
