"""Cortical sheets: where each unit of a layer sits on a 2-D grid.

TopoNets' rule (``topoloss.cortical_sheet.common.find_cortical_sheet_size``): for ``n`` units
the sheet has ``H`` rows, ``H`` starting at ``floor(sqrt(n))`` and decreased until it divides
``n``, and ``W = n / H`` columns. Unit ``i`` (output channel ``i`` of a conv, output unit ``i``
of a linear layer) sits at row ``i // W``, column ``i % W`` (row-major), exactly where
TopoLoss puts its weight vector. Examples: 64 → 8×8, 96 → 8×12, 3072 → 48×64,
794 → 2×397, 11 → 1×11.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import torch

__all__ = ["sheet_shape", "to_sheet", "unit_positions"]

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)


def sheet_shape(n_units: int) -> tuple[int, int]:
    """``(H, W)`` of the cortical sheet of ``n_units`` units (TopoNets' rule, see module doc)."""
    if isinstance(n_units, bool) or not isinstance(n_units, int | np.integer) or n_units < 1:
        raise ValueError(f"n_units must be a positive int, got {n_units!r}")
    height = math.isqrt(int(n_units))
    while n_units % height:
        height -= 1
    return height, int(n_units) // height


def unit_positions(n_units: int) -> np.ndarray:
    """Sheet coordinates of every unit, ``(n_units, 2)`` int64 rows ``(row, col)``.

    Row ``i`` is ``(i // W, i % W)`` with ``W = sheet_shape(n_units)[1]``; distances between
    rows are in units of the grid spacing.
    """
    _, width = sheet_shape(n_units)
    index = np.arange(n_units)
    return np.stack([index // width, index % width], axis=1)


def to_sheet(activations: ArrayLike, dim: int = 1) -> ArrayLike:
    """Reshape the units axis ``dim`` of ``activations`` into the sheet's ``(H, W)`` axes.

    E.g. a conv read-out ``(batch, C, F, T)`` with ``dim=1`` becomes ``(batch, H, W, F, T)``;
    transformer tokens ``(batch, tokens, D)`` with ``dim=-1`` become
    ``(batch, tokens, H, W)``. Works on numpy arrays and torch tensors (a view when the
    input is contiguous).
    """
    ndim = activations.ndim
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"dim must be in [{-ndim}, {ndim}) for an array of shape "
            f"{tuple(activations.shape)}, got {dim}"
        )
    dim %= ndim
    shape = tuple(activations.shape)
    height, width = sheet_shape(shape[dim])
    return activations.reshape((*shape[:dim], height, width, *shape[dim + 1 :]))
