"""Statistics of maps on cortical sheets, each against a vectorised permutation null.

Two statistics, both computed on an ``(H, W)`` sheet whose units sit on the grid (spacing 1):

- **Moran's I** of a scalar map (one value per unit: a preferred frequency, a d′, a component
  weight) with binary weights on the 8 neighbours of every unit (adjacent and diagonal, the
  first bin of the TDANN curve): ``I = (N / S0) · Σ_{i≠j} w_ij z_i z_j / Σ_i z_i²``, ``z`` the
  map minus its mean, ``N`` the units with a finite value and ``S0`` the number of ordered
  neighbour pairs among them. ``E[I] = −1 / (N − 1)`` for a map without spatial structure.
- **TDANN smoothness** of the units' response profiles (``(stimuli, H, W)``), exactly as
  :func:`topoaudio_zoo.topography.smoothness`: the curve of mean ``1 − r`` of unit pairs per
  distance bin ``[1, 2), [2, 3), …`` and ``(max(curve) − curve[0]) / max(curve)``.

Nulls (one-sided: p is the share of null values at least as large as the observed one,
``(1 + #{null ≥ observed}) / (1 + n_permutations)``):

- **Sheet permutation**: the same units shuffled on the sheet. Moran's I of all permuted maps
  at once from shifted products; the smoothness curves of a batch of permuted sheets from one
  gather of the units' ``N × N`` correlation matrix and one binned sum per batch (the cost does
  not grow with the number of stimuli); the pairs of responsive units per bin come from the
  FFT autocorrelation of the permuted map of responsive units.
- **Label permutation** (category maps, :func:`label_permutation_test`): random sound sets of
  the same sizes as the contrast's groups, their d′ maps and Moran's I. It asks whether a
  category's clustering exceeds the clustering of any contrast of that many sounds, i.e. the
  sheet's generic tuning smoothness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch

__all__ = [
    "MapStatistic",
    "label_permutation_test",
    "morans_i",
    "sheet_permutation_test",
    "smoothness_permutation_test",
]

# Half of the 8-neighbourhood: every unordered neighbour pair is counted once by these offsets.
_HALF_NEIGHBOURHOOD = ((0, 1), (1, 0), (1, 1), (1, -1))
_CHUNK = 250


@dataclass(frozen=True)
class MapStatistic:
    """An observed statistic, its permutation null and its one-sided p-value.

    Attributes:
        value: the observed statistic (NaN when undefined, e.g. a constant map).
        p_value: ``(1 + #{null ≥ value}) / (1 + n_permutations)``; NaN when undefined.
        null_mean: mean of the null distribution.
        null_low: its 5th percentile.
        null_high: its 95th percentile.
        n_permutations: null samples drawn.
        null: the name of the null (``"sheet"`` or ``"labels"``).
    """

    value: float
    p_value: float
    null_mean: float
    null_low: float
    null_high: float
    n_permutations: int
    null: str

    def to_dict(self) -> dict[str, float | int | str]:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    def summary(self, name: str) -> str:
        """One line, e.g. ``"I=0.42 (p=0.001, sheet null 5-95 % -0.05..0.04)"``."""
        return (
            f"{name}={self.value:.2f} (p={self.p_value:.3g}, {self.null} null 5–95 % "
            f"{self.null_low:.2f}..{self.null_high:.2f})"
        )


def _from_null(value: float, null: np.ndarray, name: str) -> MapStatistic:
    finite = null[np.isfinite(null)]
    if not np.isfinite(value) or finite.size == 0:
        nan = float("nan")
        return MapStatistic(float(value), nan, nan, nan, nan, int(null.size), name)
    low, high = np.percentile(finite, [5.0, 95.0])
    return MapStatistic(
        value=float(value),
        p_value=float((1 + np.count_nonzero(finite >= value - 1e-12)) / (1 + finite.size)),
        null_mean=float(finite.mean()),
        null_low=float(low),
        null_high=float(high),
        n_permutations=int(null.size),
        null=name,
    )


def _check_map(values: np.ndarray, name: str, ndim: int) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != ndim or min(array.shape[-2:]) < 2:
        shape = "(H, W)" if ndim == 2 else "(stimuli, H, W)"
        raise ValueError(
            f"{name}: expected a map {shape} on a sheet of at least 2 × 2 units, "
            f"got shape {array.shape}"
        )
    return array


def _check_permutations(n_permutations: int) -> None:
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, int):
        raise ValueError(f"n_permutations: expected an int, got {n_permutations!r}")
    if n_permutations < 1:
        raise ValueError(f"n_permutations: expected at least 1, got {n_permutations}")


def _neighbour_sums(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``Σ`` over unordered 8-neighbour pairs ``(p, q)`` of ``a_p b_q + a_q b_p``, per map.

    ``a``, ``b``: ``(..., H, W)``; returns ``(...)``.
    """
    total = np.zeros(a.shape[:-2])
    for dy, dx in _HALF_NEIGHBOURHOOD:
        rows = slice(0, a.shape[-2] - dy)
        shifted_rows = slice(dy, None)
        cols = slice(max(0, -dx), a.shape[-1] - max(0, dx))
        shifted_cols = slice(max(0, dx), a.shape[-1] + min(0, dx))
        total += (a[..., rows, cols] * b[..., shifted_rows, shifted_cols]).sum(axis=(-2, -1))
        total += (b[..., rows, cols] * a[..., shifted_rows, shifted_cols]).sum(axis=(-2, -1))
    return total


def _batched_morans_i(maps: np.ndarray) -> np.ndarray:
    """Moran's I of each ``(H, W)`` map of ``maps`` ``(..., H, W)``; NaN units are left out."""
    valid = np.isfinite(maps)
    count = valid.sum(axis=(-2, -1))
    filled = np.where(valid, maps, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=(-2, -1)) / count
        z = np.where(valid, filled - mean[..., None, None], 0.0)
        weight = valid.astype(np.float64)
        s0 = _neighbour_sums(weight, weight)
        cross = _neighbour_sums(z, z)
        variance = (z**2).sum(axis=(-2, -1))
        result = count / s0 * cross / variance
    return np.where((variance > 1e-12 * np.maximum(count, 1)) & (s0 > 0), result, np.nan)


def morans_i(values: np.ndarray) -> float:
    """Moran's I of a scalar map ``(H, W)`` with 8-neighbour binary weights.

    NaN units (e.g. units with no response) are left out. Returns NaN for a constant map.
    """
    return float(_batched_morans_i(_check_map(values, "values", 2)))


def _permutations(n_units: int, n_permutations: int, seed: int) -> np.ndarray:
    """``(n_permutations, n_units)`` random permutations (one argsort of uniform noise)."""
    return np.random.default_rng(seed).random((n_permutations, n_units)).argsort(axis=1)


def sheet_permutation_test(
    values: np.ndarray, n_permutations: int = 1000, seed: int = 0
) -> MapStatistic:
    """Moran's I of ``values`` ``(H, W)`` against the same units shuffled on the sheet."""
    array = _check_map(values, "values", 2)
    _check_permutations(n_permutations)
    flat = array.reshape(-1)
    null = np.concatenate(
        [
            _batched_morans_i(flat[order].reshape(len(order), *array.shape))
            for order in np.array_split(
                _permutations(flat.size, n_permutations, seed),
                max(1, n_permutations // _CHUNK),
            )
        ]
    )
    return _from_null(morans_i(array), null, "sheet")


# ------------------------------------------------------------------------ TDANN smoothness
def _unit_vectors(responses: np.ndarray) -> np.ndarray:
    """``(stimuli, H, W)`` → ``(units, stimuli)`` centred unit-norm profiles; dead units 0."""
    flat = responses.reshape(responses.shape[0], -1).T
    centred = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.where(norms > 0, centred / np.where(norms > 0, norms, 1.0), 0.0)


class _SheetBins:
    """The distance bin of every unit pair of an ``H × W`` sheet, and pair counting.

    Bin ``k`` holds distances ``[k + 1, k + 2)``; pairs closer than 1 (a unit with itself) go
    to an extra last bin that is dropped. A pair's bin depends only on its row offset ``dy ≥ 0``
    and its two columns, so similarities are first summed over sheet rows into a
    ``(dy, column, column)`` table and only that table is binned.
    """

    def __init__(self, height: int, width: int) -> None:
        dy = np.arange(height)[:, None, None]
        dx = np.arange(width)[None, :, None] - np.arange(width)[None, None, :]
        bins = np.floor(np.hypot(dy, dx)).astype(np.int64) - 1
        self.n_bins = int(bins.max()) + 1
        self.sheet = (height, width)
        self.offset_column_bins = torch.from_numpy(np.where(bins >= 0, bins, self.n_bins).ravel())
        self.fft_shape = (2 * height, 2 * width)  # zero padding: no circular wrap-around
        fy = np.fft.fftfreq(2 * height, 1.0 / (2 * height))
        fx = np.fft.fftfreq(2 * width, 1.0 / (2 * width))
        offset_bins = np.floor(np.hypot(fy[:, None], fx[None, :])).astype(np.int64) - 1
        outside = (offset_bins < 0) | (offset_bins >= self.n_bins)  # self, or no pair there
        self.offset_bins = torch.from_numpy(np.where(outside, self.n_bins, offset_bins).reshape(-1))

    def _per_bin(self, values: torch.Tensor, index: torch.Tensor) -> np.ndarray:
        sums = torch.zeros(len(values), self.n_bins + 1, dtype=values.dtype)
        sums.index_add_(1, index, values)
        return sums[:, : self.n_bins].double().numpy()

    def similarity_sums(self, similarity: torch.Tensor, orders: torch.Tensor) -> np.ndarray:
        """``Σ r`` over the unordered pairs of each bin, units placed by each of ``orders``.

        ``similarity``: ``(units, units)``, symmetric; ``orders``: ``(batch, units)``, unit at
        each sheet position. Returns ``(batch, n_bins)``.
        """
        height, width = self.sheet
        batch = len(orders)
        table = torch.zeros(batch, height, width, width, dtype=similarity.dtype)
        for row in range(height):  # pairs of this sheet row with itself and every row below
            rows = similarity[orders[:, row * width : (row + 1) * width]]
            below = orders[:, None, row * width :].expand(-1, width, -1)
            pairs = torch.gather(rows, 2, below).view(batch, width, height - row, width)
            table[:, : height - row] += pairs.transpose(1, 2)
        table[:, 0] /= 2  # within a row each unordered pair is counted twice
        return self._per_bin(table.reshape(batch, -1), self.offset_column_bins)

    def pair_counts(self, alive: np.ndarray) -> np.ndarray:
        """Unordered pairs of alive units in each bin: ``(batch, H, W)`` bool → ``(batch, n_bins)``.

        From the autocorrelation of each alive map (FFT), so no pair is enumerated.
        """
        spectrum = torch.fft.rfft2(torch.from_numpy(alive.astype(np.float64)), s=self.fft_shape)
        power = torch.view_as_real(spectrum).square().sum(dim=-1)
        autocorrelation = torch.fft.irfft2(power, s=self.fft_shape).reshape(len(alive), -1)
        return np.rint(self._per_bin(autocorrelation, self.offset_bins) / 2)  # ordered pairs


def _smoothness_of_curves(curves: np.ndarray) -> np.ndarray:
    """TDANN ``(max − first) / max`` of each ``(n_bins,)`` curve, NaN where undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        peak = np.nanmax(np.where(np.isfinite(curves), curves, -np.inf), axis=-1)
        result = (peak - curves[..., 0]) / peak
    return np.where(np.isfinite(curves[..., 0]) & (peak > 0), result, np.nan)


def _smoothness_batch(
    similarity: torch.Tensor, alive: np.ndarray, orders: np.ndarray, bins: _SheetBins
) -> np.ndarray:
    """Smoothness of the sheet with its units placed by each of ``orders`` ``(batch, units)``."""
    sums = bins.similarity_sums(similarity, torch.from_numpy(orders))
    if alive.all():  # every unit responds: the pairs per bin do not depend on the order
        counts = bins.pair_counts(alive.reshape(1, *bins.sheet))
    else:
        counts = bins.pair_counts(alive[orders].reshape(len(orders), *bins.sheet))
    with np.errstate(invalid="ignore", divide="ignore"):
        curves = np.where(counts > 0, 1.0 - sums / counts, np.nan)
    return _smoothness_of_curves(curves)


def smoothness_permutation_test(
    responses: np.ndarray, n_permutations: int = 1000, seed: int = 0
) -> MapStatistic:
    """TDANN smoothness of ``responses`` ``(stimuli, H, W)`` against units shuffled on the sheet.

    The observed value equals :func:`topoaudio_zoo.topography.smoothness` of the same units as
    ``(units, stimuli)`` profiles (constant units left out); NaN where it is undefined.
    """
    array = _check_map(responses, "responses", 3)
    _check_permutations(n_permutations)
    height, width = array.shape[1:]
    bins = _SheetBins(height, width)
    vectors = _unit_vectors(array)
    alive = np.any(vectors != 0, axis=1)
    identity = np.arange(height * width)[None]
    similarity = vectors @ vectors.T
    observed = float(_smoothness_batch(torch.from_numpy(similarity), alive, identity, bins)[0])
    orders = _permutations(height * width, n_permutations, seed)
    per_chunk = max(1, 2**22 // similarity.size)
    chunks = np.array_split(orders, max(1, -(-n_permutations // per_chunk)))
    similarity = torch.from_numpy(similarity.astype(np.float32))
    null = np.concatenate([_smoothness_batch(similarity, alive, o, bins) for o in chunks])
    return _from_null(observed, null, "sheet")


# ------------------------------------------------------------------------ label permutation
def label_permutation_test(
    responses: np.ndarray,
    in_group: np.ndarray,
    statistic_of_maps: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_permutations: int = 1000,
    seed: int = 0,
) -> MapStatistic:
    """A contrast map's Moran's I against random sound sets of the same sizes.

    Args:
        responses: ``(sounds, H, W)`` one value per unit per sound.
        in_group: ``(sounds,)`` bool, the contrast's group (the rest is the other side).
        statistic_of_maps: ``(responses (sounds, units), masks (batch, sounds) bool) →
            (batch, units)`` contrast maps, e.g. d′ of each mask against its complement.
        n_permutations: random sound sets drawn (each the size of the group).
        seed: seed of the draws.
    """
    array = _check_map(responses, "responses", 3)
    _check_permutations(n_permutations)
    mask = np.asarray(in_group, dtype=bool)
    n_sounds, height, width = array.shape
    flat = array.reshape(n_sounds, -1)
    observed = _batched_morans_i(statistic_of_maps(flat, mask[None]).reshape(height, width))
    rng = np.random.default_rng(seed)
    null = []
    for count in np.diff(
        np.linspace(0, n_permutations, 1 + -(-n_permutations // _CHUNK), dtype=int)
    ):
        masks = np.zeros((count, n_sounds), dtype=bool)
        chosen = rng.random((count, n_sounds)).argsort(axis=1)[:, : mask.sum()]
        np.put_along_axis(masks, chosen, True, axis=1)
        maps = statistic_of_maps(flat, masks).reshape(count, height, width)
        null.append(_batched_morans_i(maps))
    return _from_null(float(observed), np.concatenate(null), "labels")
