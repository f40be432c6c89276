"""Category selectivity on cortical sheets: per-unit d′ and t of one group of sounds vs the rest.

For any labelled sound set, a contrast picks the sounds whose label is in a group (e.g.
``speech`` = ``EngSpeech`` + ``ForSpeech``) and compares each unit's responses to them with its
responses to all other sounds:

- ``d′ = (m₁ − m₀) / sqrt((s₁² + s₀²) / 2)`` (sample variances, ``ddof=1``);
- Welch's ``t = (m₁ − m₀) / sqrt(s₁² / n₁ + s₀² / n₀)``.

Each d′ map gets Moran's I against two nulls (:mod:`topoaudio_zoo.maps.stats`): units shuffled
on the sheet, and random sound sets of the group's size (does the category cluster more than
any contrast of as many sounds?).

Presets name the groups of the NH2015 165 sounds (Norman-Haignere et al. 2015): ``speech``,
``music`` and each of the 11 categories (``topoaudio_zoo.brain.NH2015_CATEGORIES``, the
categories of the one NH2015 loader).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..brain.nh2015 import NH2015_CATEGORIES
from .stats import MapStatistic, label_permutation_test, sheet_permutation_test

__all__ = [
    "NH2015_PRESETS",
    "CategoryMap",
    "category_map",
    "contrast_mask",
    "dprime_and_t",
    "preset_groups",
]

NH2015_PRESETS: dict[str, tuple[str, ...]] = {
    "speech": ("EngSpeech", "ForSpeech"),
    "music": ("Music", "Song"),
    **{category: (category,) for category in NH2015_CATEGORIES},
}


def preset_groups(name: str) -> tuple[str, ...]:
    """The NH2015 categories of preset ``name`` (``speech``, ``music`` or a category)."""
    if name not in NH2015_PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(NH2015_PRESETS)}")
    return NH2015_PRESETS[name]


def contrast_mask(labels: Sequence[str], group: Sequence[str], n_sounds: int) -> np.ndarray:
    """``(n_sounds,)`` bool: which sounds' labels are in ``group``.

    Raises ValueError when there is not one label per sound, when no sound has a label of
    the group, or when the group or the rest would hold fewer than 2 sounds.
    """
    labels = [str(label) for label in labels]
    if len(labels) != n_sounds:
        raise ValueError(
            f"labels: {len(labels)} labels for {n_sounds} sounds; the label set does not match "
            "the sounds (one label per sound, in the sounds' order)"
        )
    if not set(group) & set(labels):
        raise ValueError(
            f"labels: no sound is labelled {sorted(group)}; the label set "
            f"({sorted(set(labels))}) does not match the contrast"
        )
    mask = np.isin(labels, list(group))
    if mask.sum() < 2 or (~mask).sum() < 2:
        raise ValueError(
            f"contrast {list(group)}: needs at least 2 sounds in the group and 2 outside, "
            f"got {int(mask.sum())} and {int((~mask).sum())}"
        )
    return mask


def dprime_and_t(responses: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d′ and Welch's t of each mask's sounds against the others, for every unit.

    Args:
        responses: ``(sounds, units)``.
        masks: ``(batch, sounds)`` bool.

    Returns:
        ``(d′, t)``, each ``(batch, units)``; NaN for a unit with no variance.
    """
    masks = np.asarray(masks, dtype=np.float64)
    n_in = masks.sum(axis=1, keepdims=True)
    n_out = masks.shape[1] - n_in
    total, total_sq = responses.sum(axis=0), (responses**2).sum(axis=0)
    sum_in, sum_sq_in = masks @ responses, masks @ responses**2
    mean_in, mean_out = sum_in / n_in, (total - sum_in) / n_out
    var_in = np.maximum(sum_sq_in - n_in * mean_in**2, 0) / (n_in - 1)
    var_out = np.maximum(total_sq - sum_sq_in - n_out * mean_out**2, 0) / (n_out - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dprime = (mean_in - mean_out) / np.sqrt((var_in + var_out) / 2)
        t = (mean_in - mean_out) / np.sqrt(var_in / n_in + var_out / n_out)
    scale = np.abs(responses).max(axis=0) + 1e-30
    degenerate = (var_in + var_out) <= 1e-20 * scale**2
    return np.where(degenerate, np.nan, dprime), np.where(degenerate, np.nan, t)


def _dprime_maps(responses: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return dprime_and_t(responses, masks)[0]


@dataclass(frozen=True)
class CategoryMap:
    """One layer's selectivity map for one contrast.

    Attributes:
        layer: the layer name.
        contrast: the contrast's name (e.g. ``"speech"``).
        group: the labels of the group (e.g. ``("EngSpeech", "ForSpeech")``).
        n_in: sounds in the group.
        n_out: the other sounds.
        dprime: ``(H, W)`` d′ of each unit.
        t: ``(H, W)`` Welch's t of each unit.
        morans_i: Moran's I of the d′ map, sheet-permutation null.
        morans_i_labels: the same I against random sound sets of sizes ``n_in`` / ``n_out``.
    """

    layer: str
    contrast: str
    group: tuple[str, ...]
    n_in: int
    n_out: int
    dprime: np.ndarray
    t: np.ndarray
    morans_i: MapStatistic
    morans_i_labels: MapStatistic


def category_map(
    layer: str,
    responses: np.ndarray,
    labels: Sequence[str],
    contrast: str,
    group: Sequence[str] | None = None,
    n_permutations: int = 1000,
    seed: int = 0,
) -> CategoryMap:
    """d′ and t maps of ``group`` against the other sounds, with both nulls.

    Args:
        layer: the layer name (for messages and the result).
        responses: ``(sounds, H, W)``.
        labels: one label per sound.
        contrast: the contrast's name; with ``group=None`` an NH2015 preset
            (:data:`NH2015_PRESETS`).
        group: the labels making up the group (default: the preset's).
        n_permutations: draws of each null.
        seed: seed of the nulls.
    """
    group = tuple(group) if group is not None else preset_groups(contrast)
    responses = np.asarray(responses, dtype=np.float64)
    if responses.ndim != 3:
        raise ValueError(f"layer {layer!r}: expected (sounds, H, W), got {responses.shape}")
    mask = contrast_mask(labels, group, responses.shape[0])
    flat = responses.reshape(responses.shape[0], -1)
    dprime, t = dprime_and_t(flat, mask[None])
    sheet = responses.shape[1:]
    return CategoryMap(
        layer=layer,
        contrast=contrast,
        group=group,
        n_in=int(mask.sum()),
        n_out=int((~mask).sum()),
        dprime=dprime.reshape(sheet),
        t=t.reshape(sheet),
        morans_i=sheet_permutation_test(dprime.reshape(sheet), n_permutations, seed),
        morans_i_labels=label_permutation_test(responses, mask, _dprime_maps, n_permutations, seed),
    )
