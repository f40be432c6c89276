"""TopoLoss' per-layer values of several cortical sheets, with a hand-written gradient.

Value, for each sheet of unit vectors ``(H·W, D)`` (unit ``i`` at ``(i // W, i % W)``): the
sheet is blurred by bilinear down-sampling with ``scale_factor = (1/φ_h, 1/φ_w)`` and bilinear
up-sampling back to ``H×W`` (``F.interpolate``, ``align_corners=False``, exactly TopoLoss'
calls), and the value is ``1 − mean_u cos(v_u, b_u)`` (``v`` the vectors, ``b`` the blurred
ones; norms clamped at 1e-8 as in ``F.cosine_similarity``).

Gradient: with ``k = −g / (H·W)`` (``g`` the upstream gradient) and ``α_u = k / (|v_u||b_u|)``,

    ∂/∂b_u = α_u · (v_u − cos_u · |v_u|/|b_u| · b_u)
    ∂/∂v_u = α_u · (b_u − cos_u · |b_u|/|v_u| · v_u) + Dᵀ Uᵀ(∂/∂b)_u

where ``D`` (down) and ``U`` (up) are the blur's two interpolations.

Why by hand: on a CPU, TopoLoss touches every weight of the constrained layers several
times per step and is bound by memory traffic and, for small layers, by per-operation
overhead. Autograd through ``F.cosine_similarity`` makes about twice the passes over the
weights and allocates every full-size temporary afresh. Here all sheets go through one
autograd node; each sheet's gradient is computed in the forward pass, right after its value,
while the sheet is still in the cache (for the upstream gradient the loss will send; the
backward pass only hands it over). ``D`` and ``U`` are sparse matrices over the sheet's
positions (each output position a weighted sum of at most four), built once from
``F.interpolate``'s own weights and applied by ``F.embedding_bag`` (a weighted sum of table
rows per output row): about twice as fast on a CPU as the interpolation kernels, and the
per-unit factors ``α_u`` go into the matrices' weights instead of a pass over the sheet.
So the gradient is two such products, ``g_s = Uᵀ(α ∘ (v − r_v ∘ b))`` on the small sheet
and ``[α ∘ U | Dᵀ] @ [s; g_s] − α r_b ∘ v``, plus one fused multiply-add
(``benchmarks/topoloss.py``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["SheetBlur", "Workspace", "blurred_size", "sheet_cosine_losses"]

_EPS = 1e-8


def blurred_size(height: int, width: int, factor: tuple[float, float]) -> tuple[int, int]:
    """Size of the down-sampled sheet, as ``F.interpolate`` computes it (``floor(n · 1/φ)``)."""
    return (
        math.floor(float(height) * (1.0 / factor[0])),
        math.floor(float(width) * (1.0 / factor[1])),
    )


class Workspace:
    """Reusable float32 scratch buffers, one per ``(device, key)``, grown to the largest size
    asked; a buffer's contents last until the next :meth:`get` with the same key. Under
    ``torch.inference_mode`` the buffers are fresh and not kept (inference tensors cannot be
    written outside it later)."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[torch.device, Hashable], torch.Tensor] = {}

    def get(self, key: Hashable, numel: int, device: torch.device) -> torch.Tensor:
        """A flat float32 buffer of ``numel`` elements (contents undefined)."""
        if torch.is_inference_mode_enabled():
            return torch.empty(numel, dtype=torch.float32, device=device)
        buffer = self._buffers.get((device, key))
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=torch.float32, device=device)
            self._buffers[(device, key)] = buffer
        return buffer[:numel]


@dataclass(frozen=True)
class _SparseRows:
    """A sparse matrix by rows: its entries' ``rows``, ``columns`` and ``values`` in row
    order, and ``offsets``, where each row's entries start."""

    rows: torch.Tensor
    columns: torch.Tensor
    values: torch.Tensor
    offsets: torch.Tensor

    @classmethod
    def from_entries(
        cls, rows: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, n_rows: int
    ) -> _SparseRows:
        order = torch.argsort(rows, stable=True)
        counts = torch.bincount(rows, minlength=n_rows)
        return cls(rows[order], columns[order], values[order], torch.cumsum(counts, 0) - counts)

    def transposed(self, n_columns: int) -> _SparseRows:
        return _SparseRows.from_entries(self.columns, self.rows, self.values, n_columns)

    def to(self, device: torch.device) -> _SparseRows:
        return _SparseRows(**{name: tensor.to(device) for name, tensor in vars(self).items()})

    def apply(self, table: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """``matrix @ table`` for a ``(n_columns, D)`` ``table``: a fresh ``(n_rows, D)``
        tensor; ``values`` (one per entry) replace the matrix' values when given."""
        return F.embedding_bag(
            self.columns,
            table,
            self.offsets,
            mode="sum",
            per_sample_weights=self.values if values is None else values,
        )


def _bilinear_1d(length: int, size: int | None = None, scale: float | None = None) -> torch.Tensor:
    """The ``(out, length)`` matrix of ``F.interpolate``'s bilinear weights
    (``align_corners=False``) along one axis, to ``size`` or by ``scale``: the interpolation
    of each unit vector, as a ``length × 1`` image."""
    basis = torch.eye(length, dtype=torch.float32, device="cpu").view(length, 1, length, 1)
    out = F.interpolate(
        basis,
        size=None if size is None else (size, 1),
        scale_factor=None if scale is None else (scale, 1.0),
        mode="bilinear",
        align_corners=False,
    )
    return out.view(length, -1).T


def _separable(along_h: torch.Tensor, along_w: torch.Tensor) -> _SparseRows:
    """The 2-D interpolation ``along_h ⊗ along_w`` over row-major sheet positions (bilinear
    weights are the products of the two axes' weights)."""
    rows_h, columns_h = along_h.nonzero(as_tuple=True)
    rows_w, columns_w = along_w.nonzero(as_tuple=True)
    out_w, in_w = along_w.shape
    rows = (rows_h[:, None] * out_w + rows_w[None]).flatten()
    columns = (columns_h[:, None] * in_w + columns_w[None]).flatten()
    values = (along_h[rows_h, columns_h][:, None] * along_w[rows_w, columns_w][None]).flatten()
    return _SparseRows.from_entries(rows, columns, values, along_h.shape[0] * out_w)


@dataclass(frozen=True)
class _BlurMatrices:
    down: _SparseRows  # (h·w, H·W)
    up: _SparseRows  # (H·W, h·w)
    up_adjoint: _SparseRows  # (h·w, H·W)
    gradient: _SparseRows  # (H·W, 2·h·w): [U | Dᵀ]
    alpha_index: torch.Tensor  # per gradient entry: its row (U part) or H·W (Dᵀ part)

    def to(self, device: torch.device) -> _BlurMatrices:
        return _BlurMatrices(**{name: part.to(device) for name, part in vars(self).items()})


class SheetBlur:
    """TopoLoss' blur of one ``(H·W, D)`` sheet: bilinear down-sampling by ``factor``
    ``(φ_h, φ_w)`` then up-sampling to ``H×W``, as sparse matrices over the sheet's positions.

    ``blurred_size(height, width, factor)`` must be at least 1×1.
    """

    def __init__(self, height: int, width: int, dim: int, factor: tuple[float, float]) -> None:
        self.height, self.width, self.dim = height, width, dim
        self.small = blurred_size(height, width, factor)
        units, n_small = height * width, self.small[0] * self.small[1]
        down = _separable(
            _bilinear_1d(height, scale=1.0 / factor[0]), _bilinear_1d(width, scale=1.0 / factor[1])
        )
        up = _separable(
            _bilinear_1d(self.small[0], size=height), _bilinear_1d(self.small[1], size=width)
        )
        gradient = _SparseRows.from_entries(
            torch.cat([up.rows, down.columns]),
            torch.cat([up.columns, down.rows + n_small]),
            torch.cat([up.values, down.values]),
            units,
        )
        alpha_index = torch.where(gradient.columns < n_small, gradient.rows, units)
        matrices = _BlurMatrices(down, up, up.transposed(n_small), gradient, alpha_index)
        self._matrices = {torch.device("cpu"): matrices}

    @property
    def numel(self) -> int:
        """Number of values of the sheet, ``H·W·D``."""
        return self.height * self.width * self.dim

    def matrices(self, device: torch.device) -> _BlurMatrices:
        """The blur's matrices on ``device`` (moved there once)."""
        matrices = self._matrices.get(device)
        if matrices is None:
            matrices = self._matrices[device] = self._matrices[torch.device("cpu")].to(device)
        return matrices


def _mean_cos_and_gradient(
    vectors: torch.Tensor, blur: SheetBlur, workspace: Workspace, scale: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``mean cos`` of one sheet (0-dim) and, unless ``scale`` is ``None``, ``scale ×`` the
    gradient of ``1 − mean cos`` with respect to ``vectors`` (a fresh ``(H·W, D)`` tensor)."""
    units, dim = vectors.shape
    matrices = blur.matrices(vectors.device)
    small = matrices.down.apply(vectors)
    blurred = matrices.up.apply(small)
    norm_v = torch.linalg.vector_norm(vectors, dim=1).clamp_min_(_EPS)
    norm_b = torch.linalg.vector_norm(blurred, dim=1).clamp_min_(_EPS)
    scratch = workspace.get("scratch", blur.numel, vectors.device).view(units, dim)
    inverse = torch.mul(norm_v, norm_b).reciprocal_()
    cos = torch.mul(vectors, blurred, out=scratch).sum(dim=1).mul_(inverse)
    mean_cos = cos.mean()
    if scale is None:
        return mean_cos, None
    alpha = inverse.mul_(-scale / units)
    norm_ratio = norm_v.div_(norm_b)
    ratio_v = cos.mul(norm_ratio)  # cos · |v|/|b|
    ratio_b = cos.div_(norm_ratio).mul_(alpha)  # α · cos · |b|/|v|
    residual = torch.addcmul(vectors, blurred, ratio_v.unsqueeze(1), value=-1, out=scratch)
    adjoint = matrices.up_adjoint
    grad_small = adjoint.apply(residual, adjoint.values * alpha[adjoint.columns])
    gradient = matrices.gradient
    factors = torch.cat([alpha, alpha.new_ones(1)])[matrices.alpha_index]
    grad = gradient.apply(torch.cat([small, grad_small]), gradient.values * factors)
    return mean_cos, grad.addcmul_(vectors, ratio_b.unsqueeze(1), value=-1)


def _sheet_vectors(weight: torch.Tensor, blur: SheetBlur) -> torch.Tensor:
    """A weight as the contiguous float32 ``(H·W, D)`` sheet of its units' vectors."""
    return weight.detach().reshape(blur.height * blur.width, blur.dim).float().contiguous()


class _SheetCosineLosses(torch.autograd.Function):
    """Per-sheet values; the gradients are computed in the forward pass, while each sheet is
    still in the cache, for the upstream gradient ``grad_scale`` (the backward pass hands
    them over, rescaled only if the actual upstream gradient differs)."""

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        blurs: Sequence[SheetBlur],
        workspace: Workspace,
        grad_scale: float | None,
        *weights: torch.Tensor,
    ) -> torch.Tensor:
        means, grads = [], []
        for index, (blur, weight) in enumerate(zip(blurs, weights, strict=True)):
            scale = grad_scale if ctx.needs_input_grad[3 + index] else None
            mean, grad = _mean_cos_and_gradient(
                _sheet_vectors(weight, blur), blur, workspace, scale
            )
            means.append(mean)
            grads.append(grad)
        ctx.save_for_backward(*weights)
        ctx.blurs, ctx.workspace = blurs, workspace
        ctx.grad_scale, ctx.grads = grad_scale, grads
        return 1 - torch.stack(means)

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_values: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        weights, grads, scale = ctx.saved_tensors, ctx.grads, ctx.grad_scale
        ctx.grads = [None] * len(grads)  # handed over once; a second backward recomputes
        planned = scale is not None and grad_values.device.type == "cpu"
        planned = planned and bool((grad_values == scale).all())
        out: list[torch.Tensor | None] = []
        for index, (blur, weight) in enumerate(zip(ctx.blurs, weights, strict=True)):
            grad = grads[index]
            if not ctx.needs_input_grad[3 + index]:
                grad = None
            elif grad is None:
                vectors = _sheet_vectors(weight, blur)
                _, grad = _mean_cos_and_gradient(vectors, blur, ctx.workspace, 1.0)
                grad.mul_(grad_values[index])
            elif not planned:
                grad.mul_(grad_values[index] / scale)
            out.append(None if grad is None else grad.view(weight.shape).to(weight.dtype))
        return None, None, None, *out


def sheet_cosine_losses(
    weights: Sequence[torch.Tensor],
    blurs: Sequence[SheetBlur],
    workspace: Workspace | None = None,
    grad_scale: float = 1.0,
) -> torch.Tensor:
    """TopoLoss' per-sheet values ``1 − mean cos``, a ``(len(weights),)`` float32 tensor
    (differentiable once with respect to the weights).

    ``weights[i]``: any tensor whose ``blurs[i].height · blurs[i].width`` rows (first
    dimension, the units in sheet order) hold ``blurs[i].dim`` values each, e.g. a Conv2d's
    ``(C_out, C_in, kh, kw)`` weight; any float dtype (computed in float32, gradients in the
    weight's dtype). ``workspace``: scratch memory reused across calls (a fresh one when
    ``None``). When gradients are needed they are computed here, in the forward pass, for
    an upstream gradient of ``grad_scale`` on every value (e.g. ``τ / n`` for ``τ ×`` the
    mean of ``n`` values), and kept until the backward pass, which rescales them by one pass
    over the weights if the upstream gradient differs (or is on a GPU).
    """
    if len(weights) != len(blurs):
        raise ValueError(f"got {len(weights)} weights for {len(blurs)} sheets")
    if not (math.isfinite(grad_scale) and grad_scale != 0):
        raise ValueError(f"grad_scale must be finite and non-zero, got {grad_scale!r}")
    needs_grad = torch.is_grad_enabled() and any(weight.requires_grad for weight in weights)
    scale = float(grad_scale) if needs_grad else None
    return _SheetCosineLosses.apply(blurs, workspace or Workspace(), scale, *weights)
