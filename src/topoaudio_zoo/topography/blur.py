"""TopoLoss' value of one cortical sheet, with a hand-written backward pass.

Forward: the sheet of unit vectors ``(H·W, D)`` (unit ``i`` at ``(i // W, i % W)``) is blurred
by bilinear down-sampling with ``scale_factor = (1/φ_h, 1/φ_w)`` and bilinear up-sampling
back to ``H×W`` (``F.interpolate``, ``align_corners=False``, exactly TopoLoss' calls), and
the value is ``1 − mean_u cos(v_u, b_u)`` (``v`` the vectors, ``b`` the blurred ones; norms
clamped at 1e-8 as in ``F.cosine_similarity``).

Backward: with ``k = −g / (H·W)`` (``g`` the incoming gradient),

    ∂/∂b_u = k · (v_u / (|v_u||b_u|) − cos_u · b_u / |b_u|²)
    ∂/∂v_u = k · (b_u / (|v_u||b_u|) − cos_u · v_u / |v_u|²) + Bᵀ(∂/∂b)_u

where ``Bᵀ`` is the adjoint of the blur (the interpolations' own backward kernels). This
needs about half the memory traffic and temporaries of autograd through
``F.cosine_similarity``, which matters on CPU where TopoLoss touches every weight of the
constrained layers at every step (``benchmarks/topoloss.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["blurred_size", "sheet_cosine_loss"]

_EPS = 1e-8


def blurred_size(height: int, width: int, factor: tuple[float, float]) -> tuple[int, int]:
    """Size of the down-sampled sheet, as ``F.interpolate`` computes it (``floor(n · 1/φ)``)."""
    return (
        math.floor(float(height) * (1.0 / factor[0])),
        math.floor(float(width) * (1.0 / factor[1])),
    )


def _blur(grid: torch.Tensor, factor: tuple[float, float]) -> tuple[torch.Tensor, list[int]]:
    down = F.interpolate(grid, scale_factor=(1.0 / factor[0], 1.0 / factor[1]), mode="bilinear")
    return F.interpolate(down, size=grid.shape[-2:], mode="bilinear"), list(down.shape[-2:])


def _blur_adjoint(
    grad: torch.Tensor, small: list[int], factor: tuple[float, float]
) -> torch.Tensor:
    batch, channels, height, width = grad.shape
    grad_small = torch.ops.aten.upsample_bilinear2d_backward(
        grad, [height, width], [batch, channels, *small], False, None, None
    )
    return torch.ops.aten.upsample_bilinear2d_backward(
        grad_small,
        small,
        [batch, channels, height, width],
        False,
        1.0 / factor[0],
        1.0 / factor[1],
    )


class _SheetCosineLoss(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: FunctionCtx,
        vectors: torch.Tensor,
        height: int,
        width: int,
        factor: tuple[float, float],
    ) -> torch.Tensor:
        units, dim = vectors.shape
        grid = vectors.reshape(1, height, width, dim).permute(0, 3, 1, 2)
        blurred, small = _blur(grid, factor)
        blurred = blurred.permute(0, 2, 3, 1).reshape(units, dim)
        norm_v = torch.linalg.vector_norm(vectors, dim=1).clamp_min(_EPS)
        norm_b = torch.linalg.vector_norm(blurred, dim=1).clamp_min(_EPS)
        cos = torch.linalg.vecdot(vectors, blurred) / (norm_v * norm_b)
        ctx.save_for_backward(vectors, blurred, cos, norm_v, norm_b)
        ctx.geometry = (height, width, small, factor)
        return 1 - cos.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_loss: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        vectors, blurred, cos, norm_v, norm_b = ctx.saved_tensors
        height, width, small, factor = ctx.geometry
        units, dim = vectors.shape
        k = -grad_loss / units
        cross = (k / (norm_v * norm_b)).unsqueeze(1)
        grad_blurred = vectors * cross
        grad_blurred.addcmul_(blurred, (-k * cos / norm_b.square()).unsqueeze(1))
        grid = grad_blurred.reshape(1, height, width, dim).permute(0, 3, 1, 2)
        grad = _blur_adjoint(grid, small, factor).permute(0, 2, 3, 1).reshape(units, dim)
        grad.addcmul_(blurred, cross)
        grad.addcmul_(vectors, (-k * cos / norm_v.square()).unsqueeze(1))
        return grad, None, None, None


def sheet_cosine_loss(
    vectors: torch.Tensor, height: int, width: int, factor: tuple[float, float]
) -> torch.Tensor:
    """TopoLoss' value ``1 − mean cos`` of a sheet (0-dim, differentiable once).

    ``vectors``: ``(height·width, D)`` floating point, one row per unit in sheet order.
    ``factor``: ``(φ_h, φ_w)`` with ``blurred_size(height, width, factor)`` at least 1×1.
    """
    return _SheetCosineLoss.apply(vectors, height, width, factor)
