"""TopoLoss' per-layer values of several cortical sheets, with a hand-written gradient.

Value, for each sheet of unit vectors ``(H·W, D)`` (unit ``i`` at ``(i // W, i % W)``): the
sheet is blurred by bilinear down-sampling with ``scale_factor = (1/φ_h, 1/φ_w)`` and bilinear
up-sampling back to ``H×W`` (``F.interpolate``, ``align_corners=False``, exactly TopoLoss'
calls), and the value is ``1 − mean_u cos(v_u, b_u)`` (``v`` the vectors, ``b`` the blurred
ones; norms clamped at 1e-8 as in ``F.cosine_similarity``).

Gradient: with ``k = −g / (H·W)`` (``g`` the upstream gradient) and ``α_u = k / (|v_u||b_u|)``,

    ∂/∂b_u = α_u · (v_u − cos_u · |v_u|/|b_u| · b_u)
    ∂/∂v_u = α_u · (b_u − cos_u · |b_u|/|v_u| · v_u) + Bᵀ(∂/∂b)_u

where ``Bᵀ`` is the adjoint of the blur.

Why by hand: on a CPU, TopoLoss touches every weight of the constrained layers several
times per step and is bound by memory traffic and, for small layers, by per-operation
overhead. Autograd through ``F.cosine_similarity`` makes about twice the passes over the
weights and allocates every full-size temporary afresh. Here all sheets go through one
autograd node; each sheet's gradient is computed in the forward pass, right after its value,
while the sheet is still in the cache (for the upstream gradient the loss will send; the
backward pass only hands it over); the temporaries live in a :class:`Workspace` reused
across sheets and steps, so the only fresh full-size tensor per layer is its gradient. With
an integer φ (TopoLoss' usual case) the down-sampling reads 1 (odd φ) or 2 (even φ) rows of
every φ and as many columns, with equal weights, so its adjoint is a strided sum into a
sixteenth of the sheet (φ = 4), not the interpolation kernel's adjoint, which zero-fills the
whole sheet first (``benchmarks/topoloss.py``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import torch
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


def _sheet_view(flat: torch.Tensor, height: int, width: int, dim: int) -> torch.Tensor:
    """``(1, dim, height, width)`` channels-last view of a ``(height·width, dim)`` buffer."""
    return flat.view(1, height, width, dim).permute(0, 3, 1, 2)


def _integer_taps(factor: float) -> tuple[int, ...] | None:
    """Rows read by bilinear down-sampling by an integer ``factor`` φ, relative to ``φ·i``.

    Output row ``i`` samples input position ``φ(i + ½) − ½``: the single row ``φi + (φ−1)/2``
    for odd φ, the two rows ``φi + φ/2 − 1`` and ``φi + φ/2`` (weight ½ each) for even φ.
    ``None`` for a non-integer φ.
    """
    if factor != int(factor):
        return None
    half = int(factor) // 2
    return (half,) if int(factor) % 2 else (half - 1, half)


class SheetBlur:
    """TopoLoss' blur of one ``(H·W, D)`` sheet: bilinear down-sampling by ``factor``
    ``(φ_h, φ_w)`` then up-sampling to ``H×W``, and the adjoint pieces.

    ``blurred_size(height, width, factor)`` must be at least 1×1.
    """

    def __init__(self, height: int, width: int, dim: int, factor: tuple[float, float]) -> None:
        self.height, self.width, self.dim = height, width, dim
        self.small = blurred_size(height, width, factor)
        self.scale = (1.0 / factor[0], 1.0 / factor[1])
        rows, cols = _integer_taps(factor[0]), _integer_taps(factor[1])
        self.integer = rows is not None and cols is not None
        if self.integer:
            step_h, step_w = int(factor[0]), int(factor[1])
            self.tap_shape = (self.small[0], len(rows), self.small[1], len(cols), dim)
            self.tap_stride = (step_h * width * dim, width * dim, step_w * dim, dim, 1)
            self.tap_offset = (rows[0] * width + cols[0]) * dim
            self.tap_weight = 1.0 / (len(rows) * len(cols))

    @property
    def numel(self) -> int:
        """Number of values of the sheet, ``H·W·D``."""
        return self.height * self.width * self.dim

    def _taps(self, flat: torch.Tensor) -> torch.Tensor:
        """``(h, rows, w, cols, D)`` view of the sheet positions that down-sampling reads,
        from a contiguous ``(H·W, D)`` tensor."""
        offset = flat.storage_offset() + self.tap_offset
        return flat.as_strided(self.tap_shape, self.tap_stride, offset)

    def down(self, vectors: torch.Tensor) -> torch.Tensor:
        """``(1, D, h, w)`` channels-last down-sampled sheet of contiguous ``vectors``."""
        grid = _sheet_view(vectors, self.height, self.width, self.dim)
        # F.interpolate(grid, scale_factor=self.scale, mode="bilinear") without its checks
        return torch.ops.aten.upsample_bilinear2d.vec(grid, None, False, list(self.scale))

    def up_into(self, small: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Up-sampled ``small`` written into ``out`` (``(H·W, D)``), returned as ``(H·W, D)``."""
        sheet = _sheet_view(out, self.height, self.width, self.dim)
        torch.ops.aten.upsample_bilinear2d.out(
            small, [self.height, self.width], False, None, None, out=sheet
        )
        return out.view(-1, self.dim)

    def up_adjoint(self, grad: torch.Tensor) -> torch.Tensor:
        """Adjoint of :meth:`up_into`: contiguous ``(H·W, D)`` → ``(1, D, h, w)``."""
        return torch.ops.aten.upsample_bilinear2d_backward(
            _sheet_view(grad, self.height, self.width, self.dim),
            [self.height, self.width],
            [1, self.dim, *self.small],
            False,
            None,
            None,
        )

    def add_down_adjoint_(self, grad: torch.Tensor, small: torch.Tensor) -> None:
        """``grad += downᵀ(small)``: ``grad`` is contiguous ``(H·W, D)``, ``small``
        ``(1, D, h, w)``."""
        if not self.integer:
            full = torch.ops.aten.upsample_bilinear2d_backward(
                small,
                list(self.small),
                [1, self.dim, self.height, self.width],
                False,
                *self.scale,
            )
            grad.add_(full.permute(0, 2, 3, 1).reshape(-1, self.dim))
            return
        spread = small[0].permute(1, 2, 0).unsqueeze(1).unsqueeze(3)
        self._taps(grad).add_(spread, alpha=self.tap_weight)


def _mean_cos_and_gradient(
    vectors: torch.Tensor, blur: SheetBlur, workspace: Workspace, scale: float | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``mean cos`` of one sheet (0-dim) and, unless ``scale`` is ``None``, ``scale ×`` the
    gradient of ``1 − mean cos`` with respect to ``vectors`` (a fresh ``(H·W, D)`` tensor)."""
    units, dim = vectors.shape
    blurred = blur.up_into(blur.down(vectors), workspace.get("blurred", blur.numel, vectors.device))
    norm_v = torch.linalg.vector_norm(vectors, dim=1, keepdim=True).clamp_min_(_EPS)
    norm_b = torch.linalg.vector_norm(blurred, dim=1, keepdim=True).clamp_min_(_EPS)
    scratch = workspace.get("scratch", blur.numel, vectors.device).view(units, dim)
    inverse = torch.mul(norm_v, norm_b).reciprocal_()
    cos = torch.mul(vectors, blurred, out=scratch).sum(dim=1, keepdim=True).mul_(inverse)
    mean_cos = cos.mean()
    if scale is None:
        return mean_cos, None
    alpha = inverse.mul_(-scale / units)
    norm_ratio = norm_v.div_(norm_b)
    ratio_v = cos.mul(norm_ratio)  # cos · |v|/|b|
    ratio_b = cos.div_(norm_ratio)  # cos · |b|/|v|
    torch.addcmul(vectors, blurred, ratio_v, value=-1, out=scratch)
    grad_small = blur.up_adjoint(scratch.mul_(alpha))
    grad = torch.addcmul(blurred, vectors, ratio_b, value=-1).mul_(alpha)
    blur.add_down_adjoint_(grad, grad_small)
    return mean_cos, grad


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
