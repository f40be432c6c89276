"""Smoothness of a topographic map: how much closer units are more alike.

Definition (TDANN, Margalit et al. 2024, *Neuron*; used by TopoNets, Deb et al. 2025, to score
their models):

1. For every pair of units ``(i, j)``, ``i < j``, take the tuning dissimilarity
   ``1 − r_ij``, ``r_ij`` the Pearson correlation of their response profiles over the stimuli,
   and their Euclidean distance ``d_ij`` on the cortical sheet (grid spacing 1).
2. The curve: the mean dissimilarity of the pairs in each distance bin. Bins are
   ``bin_width`` wide and start at ``bin_width`` (with the default 1: ``[1, 2)``, ``[2, 3)``,
   …, so the first bin holds the adjacent and diagonal neighbours); bin centres are
   returned. Pairs closer than ``bin_width`` (only possible with custom positions) or at
   ``max_distance`` or farther are left out; empty bins are NaN.
3. ``smoothness = (max(curve) − curve[0]) / max(curve)`` (NaN bins ignored): 0 when
   neighbours are as dissimilar as the most distant pairs, 1 when neighbours are identical.

Units whose responses are constant (e.g. dead ReLUs) have no defined correlation: every
pair involving one is excluded. Fewer than two responsive units, or no responsive pair in
the first bin, raise ``ValueError``. The score is invariant to scaling a unit's responses
by a positive factor and to adding a constant to them (Pearson correlation).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .sheets import unit_positions

__all__ = ["correlation_curve", "smoothness", "weight_smoothness"]


def _as_responses(responses: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(responses, torch.Tensor):
        responses = responses.detach().cpu().double().numpy()
    values = np.asarray(responses, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 2 or values.shape[1] < 2:
        raise ValueError(
            "responses must be (n_units, n_stimuli) with at least 2 units and 2 stimuli, "
            f"got shape {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError("responses must be finite")
    return values


def _as_positions(positions: np.ndarray | None, n_units: int) -> np.ndarray:
    if positions is None:
        return unit_positions(n_units).astype(np.float64)
    values = np.asarray(positions, dtype=np.float64)
    if values.shape != (n_units, 2):
        raise ValueError(
            f"positions must be (n_units, 2) = ({n_units}, 2) sheet coordinates (row, col), "
            f"got shape {values.shape}"
        )
    return values


def correlation_curve(
    responses: np.ndarray | torch.Tensor,
    positions: np.ndarray | None = None,
    bin_width: float = 1.0,
    max_distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean tuning dissimilarity ``1 − Pearson r`` of unit pairs vs. cortical distance.

    ``responses``: ``(n_units, n_stimuli)``, one response profile per unit. ``positions``:
    ``(n_units, 2)`` sheet coordinates ``(row, col)`` in grid spacings; default: the
    TopoNets layout of ``n_units`` units (:func:`~topoaudio_zoo.topography.unit_positions`).
    Returns ``(centres, curve)``, both ``(n_bins,)``: bin centres (grid spacings) and the mean
    ``1 − r`` per bin (NaN where a bin is empty). See the module doc for the definition.
    """
    values = _as_responses(responses)
    coords = _as_positions(positions, values.shape[0])
    if not bin_width > 0:
        raise ValueError(f"bin_width must be > 0, got {bin_width!r}")
    centred = values - values.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    responsive = norms > 0
    if responsive.sum() < 2:
        raise ValueError(
            "fewer than two units have non-constant responses (dead units are excluded); "
            "the smoothness is undefined"
        )
    unit_vectors = centred[responsive] / norms[responsive, None]
    coords = coords[responsive]
    first, second = np.triu_indices(len(unit_vectors), k=1)
    correlation = np.clip((unit_vectors @ unit_vectors.T)[first, second], -1.0, 1.0)
    distance = np.linalg.norm(coords[first] - coords[second], axis=1)
    bins = np.floor(distance / bin_width).astype(np.int64) - 1
    keep = bins >= 0
    if max_distance is not None:
        keep &= distance < max_distance
    if not keep.any():
        raise ValueError("no unit pair falls in a distance bin (check positions/max_distance)")
    n_bins = int(bins[keep].max()) + 1
    counts = np.bincount(bins[keep], minlength=n_bins)
    sums = np.bincount(bins[keep], weights=1.0 - correlation[keep], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = np.where(counts > 0, sums / counts, np.nan)
    centres = (np.arange(n_bins) + 1.5) * bin_width
    return centres, curve


def smoothness(
    responses: np.ndarray | torch.Tensor,
    positions: np.ndarray | None = None,
    bin_width: float = 1.0,
    max_distance: float | None = None,
) -> float:
    """TDANN smoothness ``(max(curve) − curve[0]) / max(curve)`` of :func:`correlation_curve`.

    ``responses``: ``(n_units, n_stimuli)``; ``positions``: ``(n_units, 2)`` or ``None`` (the
    TopoNets layout). Raises ``ValueError`` when it is undefined: fewer than two responsive
    units, no responsive pair of neighbours, or every pair perfectly correlated.
    """
    _, curve = correlation_curve(responses, positions, bin_width, max_distance)
    if np.isnan(curve[0]):
        raise ValueError("no pair of responsive neighbouring units: smoothness is undefined")
    peak = float(np.nanmax(curve))
    if peak <= 0:
        raise ValueError("every pair of units is perfectly correlated: smoothness is undefined")
    return (peak - float(curve[0])) / peak


def weight_smoothness(
    layer: nn.Conv2d | nn.Linear, bin_width: float = 1.0, max_distance: float | None = None
) -> float:
    """:func:`smoothness` of the incoming weight vectors of a layer's units on its sheet.

    A Conv2d's unit is an output channel with ``C_in·kh·kw`` weights, a Linear's unit an
    output unit with its row of ``in_features`` weights; units lie on the TopoNets sheet of
    ``out`` units, as in TopoLoss. Weight vectors that are constant are excluded.
    """
    if not isinstance(layer, nn.Conv2d | nn.Linear):
        raise ValueError(f"layer must be an nn.Conv2d or nn.Linear, got {type(layer).__name__}")
    weights = layer.weight.detach().reshape(layer.weight.shape[0], -1)
    return smoothness(weights, None, bin_width, max_distance)
