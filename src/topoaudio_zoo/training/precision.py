"""Whether bf16 autocast pays on this CPU.

Under ``trainer.precision: bf16-mixed`` the backbone's convolutions and matrix products run in
bfloat16 through oneDNN. On CPUs with native bf16 instructions (AVX-512 BF16 or AMX) this is
several times faster than float32; without them oneDNN emulates bf16 and a training step is
several times *slower* (measured by ``benchmarks/training.py --recipes``).

oneDNN's bf16 convolution can also be *wrong* for some shapes: with torch 2.14.1 on an AMX
Xeon, a strided convolution whose output is one column wide (a short clip's time axis deep in
a ResNet) returned NaN and values of 1e37. :func:`bf16_convolution_faults` runs each of a
model's convolutions at its own input shape in bf16 and in float32 before training starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["BF16_TOLERANCE", "bf16_convolution_faults", "bf16_is_native", "slow_bf16_warning"]

# bf16 keeps 8 significant bits: a sound convolution's error is ~0.4 % of its largest output.
BF16_TOLERANCE = 0.05


def bf16_is_native() -> bool:
    """Whether oneDNN runs bf16 natively on this CPU (AVX-512 BF16 or AMX)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def slow_bf16_warning(precision: str, device: torch.device) -> str | None:
    """The warning to give when ``precision`` asks for bf16 on a CPU without native bf16."""
    if device.type != "cpu" or not str(precision).startswith("bf16") or bf16_is_native():
        return None
    return (
        f"precision={precision!r} on a CPU without native bf16 (AVX-512 BF16 or AMX; this one "
        f"has {torch.backends.cpu.get_cpu_capability()}): bf16 is emulated and training is "
        "slower than float32 here; use precision='32-true' on this machine"
    )


def bf16_convolution_faults(
    network: nn.Module, example: torch.Tensor, tolerance: float = BF16_TOLERANCE
) -> list[str]:
    """The convolutions of ``network`` that bf16 autocast computes wrongly on this CPU.

    ``network`` is run once on ``example`` in float32, in eval mode (no batch-norm statistics
    change; each module's mode is restored after), to record each ``nn.Conv2d``'s input
    shape; each convolution is then run on random inputs of that shape (in the memory format
    of its weight) under bf16 autocast and in float32.

    Args:
        network: the backbone to check, on the CPU.
        example: one input of the network, e.g. cochleagrams ``(batch, channels, frames)``.
        tolerance: the largest error allowed, as a fraction of the float32 output's largest
            magnitude.

    Returns:
        One line per faulty convolution, naming it, its input shape and stride and its
        error; empty when every convolution is sound.
    """
    shapes: dict[str, tuple[nn.Conv2d, torch.Size]] = {}

    def record(name: str) -> Callable[..., None]:
        def hook(module: nn.Conv2d, inputs: tuple[torch.Tensor, ...], _output: Any) -> None:
            shapes.setdefault(name, (module, inputs[0].shape))

        return hook

    handles = [
        module.register_forward_hook(record(name))
        for name, module in network.named_modules()
        if isinstance(module, nn.Conv2d)
    ]
    modes = {module: module.training for module in network.modules()}
    try:
        network.eval()
        with torch.no_grad():
            network(example)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    generator = torch.Generator().manual_seed(0)
    faults = []
    with torch.no_grad():
        for name, (conv, shape) in shapes.items():
            layout = (
                torch.channels_last
                if conv.weight.is_contiguous(memory_format=torch.channels_last)
                and not conv.weight.is_contiguous()
                else torch.contiguous_format
            )
            x = torch.randn(shape, generator=generator).to(memory_format=layout)
            reference = conv(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                approximate = conv(x).float()
            scale = float(reference.abs().max()) or 1.0
            error = float((approximate - reference).abs().nan_to_num(float("inf")).max()) / scale
            if error > tolerance:
                faults.append(
                    f"{name} (input {tuple(shape)}, stride {conv.stride}): error {error:.3g} "
                    "of the float32 output's largest value"
                )
    return faults
