"""Whether bf16 autocast pays on this CPU.

Under ``trainer.precision: bf16-mixed`` the backbone's convolutions and matrix products run in
bfloat16 through oneDNN. On CPUs with native bf16 instructions (AVX-512 BF16 or AMX) this is
several times faster than float32; without them oneDNN emulates bf16 and a training step is
several times *slower* (measured by ``benchmarks/training.py --recipes``).
"""

from __future__ import annotations

import torch

__all__ = ["bf16_is_native", "slow_bf16_warning"]


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
