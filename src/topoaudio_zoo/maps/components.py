"""Response components of natural sounds, in the spirit of Norman-Haignere et al. (2015).

The units of one or more layers are pooled into one ``(sounds, units)`` matrix and factorised
as ``responses ≈ profiles @ weights``: a few components, each with a response profile over the
sounds (summarised by category) and a weight for every unit (laid out on each layer's sheet).

- ``"nmf"`` (scikit-learn ``NMF``): each unit's responses rescaled to [0, 1] (min → 0,
  max → 1), so that no layer dominates by its scale; profiles and weights are non-negative.
- ``"ica"`` (scikit-learn ``FastICA``, as NH2015: maximally non-Gaussian unit weights): each
  unit's responses z-scored; every component's sign is set so that its weights are positively
  skewed.

Units with constant responses get NaN weights. Each weight map gets Moran's I against the
sheet-permutation null (:mod:`topoaudio_zoo.maps.stats`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import NMF, FastICA

from .stats import MapStatistic, sheet_permutation_test

__all__ = ["METHODS", "ResponseComponents", "response_components"]

METHODS = ("nmf", "ica")


@dataclass(frozen=True)
class ResponseComponents:
    """Components of the units' responses to a labelled sound set.

    Attributes:
        method: ``"nmf"`` or ``"ica"``.
        profiles: ``(components, sounds)`` response profile of each component.
        categories: the distinct labels, sorted.
        by_category: ``(components, categories)`` mean profile over each category's sounds.
        weights: ``{layer: (components, H, W)}`` each unit's weight (NaN for constant units).
        morans_i: ``{layer: [MapStatistic per component]}``, sheet-permutation null.
    """

    method: str
    profiles: np.ndarray
    categories: tuple[str, ...]
    by_category: np.ndarray
    weights: dict[str, np.ndarray]
    morans_i: dict[str, list[MapStatistic]]


def _prepared(flat: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit scaling of ``(sounds, units)``; returns it and the mask of varying units."""
    low, high = flat.min(axis=0), flat.max(axis=0)
    varying = (high - low) > 1e-9 * (np.abs(flat).max() + 1e-30)
    kept = flat[:, varying]
    if method == "nmf":
        return (kept - low[varying]) / (high - low)[varying], varying
    return (kept - kept.mean(axis=0)) / kept.std(axis=0), varying


def response_components(
    responses: Mapping[str, np.ndarray],
    labels: Sequence[str],
    n_components: int = 6,
    method: str = "nmf",
    n_permutations: int = 1000,
    seed: int = 0,
) -> ResponseComponents:
    """Decompose the responses of every layer of ``responses`` to the same sounds.

    Args:
        responses: ``{layer: (sounds, H, W)}``, the same sounds in every layer.
        labels: one category label per sound.
        n_components: components to extract (6 in NH2015).
        method: ``"nmf"`` or ``"ica"`` (see the module doc).
        n_permutations: sheet-permutation null draws for each weight map.
        seed: seed of the factorisation and of the nulls.
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if not responses:
        raise ValueError("responses: give at least one layer")
    arrays = {layer: np.asarray(values, dtype=np.float64) for layer, values in responses.items()}
    n_sounds = {array.shape[0] for array in arrays.values()}
    if len(n_sounds) != 1:
        raise ValueError(f"responses: layers disagree on the number of sounds {sorted(n_sounds)}")
    (count,) = n_sounds
    if len(labels) != count:
        raise ValueError(
            f"labels: {len(labels)} labels for {count} sounds; the label set does not match "
            "the sounds"
        )
    if not 1 <= n_components < count:
        raise ValueError(f"n_components: expected 1 … {count - 1}, got {n_components}")
    flat = np.concatenate([array.reshape(count, -1) for array in arrays.values()], axis=1)
    data, varying = _prepared(flat, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # convergence notes
        if method == "nmf":
            model = NMF(n_components, init="nndsvda", max_iter=1000, random_state=seed)
            profiles = model.fit_transform(data).T
            unit_weights = model.components_
        else:
            model = FastICA(n_components, whiten="unit-variance", max_iter=1000, random_state=seed)
            unit_weights = model.fit_transform(data.T).T
            profiles = model.mixing_.T
            sign = np.sign(((unit_weights - unit_weights.mean(1, keepdims=True)) ** 3).sum(1))
            sign[sign == 0] = 1
            unit_weights, profiles = unit_weights * sign[:, None], profiles * sign[:, None]
    weights_flat = np.full((n_components, flat.shape[1]), np.nan)
    weights_flat[:, varying] = unit_weights
    weights, morans, start = {}, {}, 0
    for layer, array in arrays.items():
        size = int(np.prod(array.shape[1:]))
        maps = weights_flat[:, start : start + size].reshape(n_components, *array.shape[1:])
        weights[layer] = maps
        morans[layer] = [sheet_permutation_test(m, n_permutations, seed) for m in maps]
        start += size
    label_array = np.asarray([str(label) for label in labels])
    categories = tuple(sorted(set(label_array)))
    by_category = np.stack(
        [profiles[:, label_array == category].mean(axis=1) for category in categories], axis=1
    )
    return ResponseComponents(method, profiles, categories, by_category, weights, morans)
