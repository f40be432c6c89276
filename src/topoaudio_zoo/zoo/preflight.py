"""Checks made before a model's tensors are allocated: its size, and the weight file's shapes.

The backbone is first built on PyTorch's ``meta`` device (shapes only, no memory), so a
configuration asking for billions of parameters, or one that does not fit the weight file's
tensors (read from the safetensors header, without loading any tensor), fails at once with a
message naming the file instead of allocating first.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from ..backbones import create_backbone
from .weights import WeightsError, load_state_dict_strict

__all__ = ["MAX_PARAMETERS", "check_weight_file", "meta_model"]

# 1e9 float32 parameters are 4 GB: twelve times the published AST, forty times CochResNet50.
MAX_PARAMETERS = 1_000_000_000

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def meta_model(config: dict[str, Any]) -> nn.Module:
    """The model's parameters and buffers (``backbone.*``) built on the meta device.

    Args:
        config: a normalised configuration (:func:`~.config.normalize_config`).

    Raises:
        ValueError: when the architecture would hold more than :data:`MAX_PARAMETERS`.
    """
    heads = {task: head["num_classes"] for task, head in config["heads"].items()}
    holder = nn.Module()
    with torch.device("meta"):
        holder.backbone = create_backbone(
            config["architecture"], heads=heads, **config["architecture_kwargs"]
        )
    n = sum(p.numel() for p in holder.parameters())
    if n > MAX_PARAMETERS:
        raise ValueError(
            f"model config: {config['architecture']} with {config['architecture_kwargs']} and "
            f"heads {heads} would hold {n:,} parameters ({n * 4 / 1e9:.0f} GB in float32), more "
            f"than the {MAX_PARAMETERS:,} this library builds"
        )
    return holder


def check_weight_file(config: dict[str, Any], path: str | os.PathLike, where: str) -> None:
    """Compare a safetensors file's tensor names, shapes and kinds with ``config``'s model.

    Only the file's header is read. A file whose header cannot be read is left to the strict
    loader, which names the problem.

    Raises:
        ValueError: the model would be too large (see :func:`meta_model`).
        WeightsError: naming ``where``, the missing, unexpected and mis-shaped tensors.
    """
    model = meta_model(config)
    try:
        with safe_open(os.fspath(path), framework="pt") as handle:
            state = {
                key: torch.empty(
                    handle.get_slice(key).get_shape(),
                    dtype=_DTYPES.get(handle.get_slice(key).get_dtype(), torch.float32),
                    device="meta",
                )
                for key in handle.keys()  # noqa: SIM118 (safe_open is not a dict)
            }
    except (SafetensorError, OSError, ValueError):
        return
    try:
        load_state_dict_strict(model, state, where)
    except WeightsError as err:
        raise WeightsError(f"{err} (checked before allocating the model)") from err
