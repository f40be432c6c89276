"""Power compression with a clipped gradient (the reference's ``ClippedGradPowerCompression``)."""

from __future__ import annotations

import torch

__all__ = ["clipped_power_compression"]


class _ClippedPower(torch.autograd.Function):
    """``(relu(x) + offset) ** power``; backward: the derivative clipped to ±clip.

    The rectification passes gradients through unchanged (a "fake ReLU"), so that cells pushed
    below zero by the decimation filter's negative lobes still receive gradient.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, power: float, offset: float, clip: float) -> torch.Tensor:
        base = x.clamp_min(0) + offset
        ctx.save_for_backward(base)
        ctx.power, ctx.clip = power, clip
        return base.pow(power)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (base,) = ctx.saved_tensors
        slope = (ctx.power * base.pow(ctx.power - 1)).clamp(-ctx.clip, ctx.clip)
        return grad_output * slope, None, None, None


def clipped_power_compression(
    x: torch.Tensor, power: float = 0.3, offset: float = 1e-8, clip: float = 5.0
) -> torch.Tensor:
    """Compress decimated envelopes: ``(relu(x) + offset) ** power``, gradient clipped to ±clip."""
    return _ClippedPower.apply(x, power, offset, clip)
