"""TopoLoss' value of one cortical sheet, with a hand-written backward pass.

Forward: the sheet of unit vectors ``(H·W, D)`` (unit ``i`` at ``(i // W, i % W)``) is blurred
by bilinear down-sampling with ``scale_factor = (1/φ_h, 1/φ_w)`` and bilinear up-sampling
back to ``H×W`` (``F.interpolate``, ``align_corners=False``, exactly TopoLoss' calls), and
the value is ``1 − mean_u cos(v_u, b_u)`` (``v`` the vectors, ``b`` the blurred ones; norms
clamped at 1e-8 as in ``F.cosine_similarity``).

Backward: with ``k = −g / (H·W)`` (``g`` the incoming gradient),

    ∂/∂b_u = k · (v_u / (|v_u||b_u|) − cos_u · b_u / |b_u|²)
    ∂/∂v_u = k · (b_u / (|v_u||b_u|) − cos_u · v_u / |v_u|²) + Bᵀ(∂/∂b)_u

where ``Bᵀ`` is the adjoint of the blur (the interpolations' own backward kernels).

Why by hand: on a CPU, TopoLoss touches every weight of the constrained layers twice per
step and is bound by memory traffic. Autograd through ``F.cosine_similarity`` makes about
twice the passes over the weights, and every full-size temporary is fresh memory that the
operating system must map again at each step. Here the blurred sheet and the temporaries live
in a :class:`Workspace` reused across layers and steps (the blurred sheet is recomputed in
the backward pass rather than kept), so the only fresh full-size tensor per layer is the
gradient handed to autograd (``benchmarks/topoloss.py``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import FunctionCtx, once_differentiable

__all__ = ["Workspace", "blurred_size", "sheet_cosine_loss"]

_EPS = 1e-8


def blurred_size(height: int, width: int, factor: tuple[float, float]) -> tuple[int, int]:
    """Size of the down-sampled sheet, as ``F.interpolate`` computes it (``floor(n · 1/φ)``)."""
    return (
        math.floor(float(height) * (1.0 / factor[0])),
        math.floor(float(width) * (1.0 / factor[1])),
    )


class Workspace:
    """Two reusable float32 scratch buffers per device, grown to the largest sheet seen.

    Safe to share between the layers of one loss: each use is finished before the next
    begins (forward passes do not keep them, backward passes run one node at a time).
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[torch.device, int], torch.Tensor] = {}

    def get(self, slot: int, numel: int, device: torch.device) -> torch.Tensor:
        """A flat float32 buffer of ``numel`` elements (contents undefined)."""
        buffer = self._buffers.get((device, slot))
        if buffer is None or buffer.numel() < numel:
            buffer = torch.empty(numel, dtype=torch.float32, device=device)
            self._buffers[(device, slot)] = buffer
        return buffer[:numel]


def _sheet_view(flat: torch.Tensor, height: int, width: int, dim: int) -> torch.Tensor:
    """``(1, dim, height, width)`` channels-last view of a ``(height·width, dim)`` buffer."""
    return flat.view(1, height, width, dim).permute(0, 3, 1, 2)


def _blur_into(
    vectors: torch.Tensor,
    height: int,
    width: int,
    factor: tuple[float, float],
    out: torch.Tensor,
) -> tuple[torch.Tensor, list[int]]:
    """Blurred ``vectors`` (``(H·W, D)``), written into ``out`` where the kernel allows."""
    units, dim = vectors.shape
    grid = _sheet_view(vectors, height, width, dim)
    down = F.interpolate(grid, scale_factor=(1.0 / factor[0], 1.0 / factor[1]), mode="bilinear")
    blurred = torch.ops.aten.upsample_bilinear2d.out(
        down, [height, width], False, None, None, out=_sheet_view(out, height, width, dim)
    )
    return blurred.permute(0, 2, 3, 1).reshape(units, dim), list(down.shape[-2:])


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
        workspace: Workspace,
    ) -> torch.Tensor:
        units, dim = vectors.shape
        vectors = vectors.contiguous()
        scratch = workspace.get(0, units * dim, vectors.device).view(units, dim)
        blurred, _ = _blur_into(vectors, height, width, factor, scratch)
        norm_v = torch.linalg.vector_norm(vectors, dim=1).clamp_min(_EPS)
        norm_b = torch.linalg.vector_norm(blurred, dim=1).clamp_min(_EPS)
        product = workspace.get(1, units * dim, vectors.device).view(units, dim)
        dot = torch.mul(vectors, blurred, out=product).sum(dim=1)
        cos = dot / (norm_v * norm_b)
        ctx.save_for_backward(vectors, cos, norm_v, norm_b)
        ctx.geometry = (height, width, factor, workspace)
        return 1 - cos.mean()

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_loss: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        vectors, cos, norm_v, norm_b = ctx.saved_tensors
        height, width, factor, workspace = ctx.geometry
        units, dim = vectors.shape
        scratch = workspace.get(0, units * dim, vectors.device).view(units, dim)
        blurred, small = _blur_into(vectors, height, width, factor, scratch)
        k = -grad_loss / units
        cross = (k / (norm_v * norm_b)).unsqueeze(1)
        grad_blurred = workspace.get(1, units * dim, vectors.device).view(units, dim)
        torch.mul(vectors, cross, out=grad_blurred)
        grad_blurred.addcmul_(blurred, (-k * cos / norm_b.square()).unsqueeze(1))
        grid = _sheet_view(grad_blurred, height, width, dim)
        grad = _blur_adjoint(grid, small, factor).permute(0, 2, 3, 1).reshape(units, dim)
        grad.addcmul_(blurred, cross)
        grad.addcmul_(vectors, (-k * cos / norm_v.square()).unsqueeze(1))
        return grad, None, None, None, None


def sheet_cosine_loss(
    vectors: torch.Tensor,
    height: int,
    width: int,
    factor: tuple[float, float],
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """TopoLoss' value ``1 − mean cos`` of a sheet (0-dim float32, differentiable once).

    ``vectors``: ``(height·width, D)`` float32, one row per unit in sheet order.
    ``factor``: ``(φ_h, φ_w)`` with ``blurred_size(height, width, factor)`` at least 1×1.
    ``workspace``: scratch memory to reuse across calls (a fresh one when ``None``).
    """
    if vectors.dtype != torch.float32:
        raise ValueError(f"vectors must be float32, got {vectors.dtype}")
    return _SheetCosineLoss.apply(vectors, height, width, factor, workspace or Workspace())
