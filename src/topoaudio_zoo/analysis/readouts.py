"""Which module's output is a layer's unit response: post-activation read-outs.

A conv or linear layer named by its module path is read, by default, after its normalisation
and non-linearity — the unit's response, not its raw weighted sum:

- a convolution of a ResNet block (``layerN.i.convK``) is read at the block's ``reluK``: after
  its batch-norm and the ReLU that follows (for the block's last conv, and for the 1×1 shortcut
  projection ``layerN.i.downsample.0``, that ReLU follows the residual sum, so the response is
  the block's output);
- any other conv or linear module is followed through the network's modules by one probe
  forward pass: the norm module (BatchNorm, LayerNorm, GroupNorm, InstanceNorm) that takes its
  output, if any, then the non-linearity module (ReLU, GELU, SiLU, …) that takes that. E.g.
  CochResNet's stem ``conv1`` → ``relu``, CochCNN9's ``conv2`` → ``relu2``, AST's
  ``blocks.3.mlp.fc1`` → ``blocks.3.mlp.act``. A layer that no non-linearity module follows
  (AST's ``mlp.fc2``, ``attn.qkv``; the heads; non-linearities applied as functions inside
  ``forward``) is read at the last module found.

Read-out names (``layer1``, ``avgpool``, ``block3``) and modules that are not conv/linear are
read as they are. The module actually read is recorded per layer (``Activations.modules``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..backbones.resnet import BasicBlock, Bottleneck

__all__ = ["read_modules"]

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Linear)
_NORMS = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.LayerNorm,
    nn.GroupNorm,
)
_NONLINEARITIES = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardtanh,
    nn.Softplus,
    nn.Tanh,
    nn.Sigmoid,
)


def _resnet_block_relu(root: nn.Module, path: str) -> str | None:
    """``layerN.i.reluK`` for ``layerN.i.convK``; the block's last ReLU for its shortcut conv."""
    parent, _, leaf = path.rpartition(".")
    match = re.fullmatch(r"conv(\d+)", leaf)
    if match and parent:
        block = root.get_submodule(parent)
        if isinstance(block, BasicBlock | Bottleneck):
            return f"{parent}.relu{match.group(1)}"
    block_path, _, tail = path.rpartition(".downsample.")
    if tail == "0" and block_path:
        block = root.get_submodule(block_path)
        if isinstance(block, BasicBlock | Bottleneck):
            return f"{block_path}.relu{3 if isinstance(block, Bottleneck) else 2}"
    return None


def _leaf_calls(root: nn.Module, probe: Callable[[], Any]) -> list[tuple[str, nn.Module, Any, Any]]:
    """``(path, module, first input, output)`` of every leaf module call during ``probe()``."""
    calls: list[tuple[str, nn.Module, Any, Any]] = []
    thread = threading.get_ident()

    def record(path: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            if threading.get_ident() == thread:
                calls.append((path, module, inputs[0] if inputs else None, output))

        return hook

    handles = [
        module.register_forward_hook(record(path))
        for path, module in root.named_modules()
        if path and not any(True for _ in module.children())
    ]
    try:
        probe()
    finally:
        for handle in handles:
            handle.remove()
    return calls


def _followed(calls: list[tuple[str, nn.Module, Any, Any]], path: str) -> str:
    """The norm-then-non-linearity chain that consumes ``path``'s output; its last module."""
    start = next((i for i, call in enumerate(calls) if call[0] == path), None)
    if start is None:
        return path
    current, tensor, seen_norm = path, calls[start][3], False
    for call_path, module, given, output in calls[start + 1 :]:
        if given is not tensor:
            continue
        if isinstance(module, _NORMS) and not seen_norm:
            current, tensor, seen_norm = call_path, output, True
        elif isinstance(module, _NONLINEARITIES):
            return call_path
        else:
            break
    return current


def read_modules(
    root: nn.Module, paths: dict[str, str], raw: bool, probe: Callable[[], Any]
) -> dict[str, str]:
    """Layer → module path to hook, given layer → asked module path (see the module doc).

    Args:
        root: the network the paths are relative to.
        paths: layer name → module path asked for.
        raw: read every asked module's own output.
        probe: runs one forward pass of ``root`` (used only when a chain must be traced).
    """
    if raw:
        return dict(paths)
    read = dict(paths)
    traced: dict[str, str] = {}
    for layer, path in paths.items():
        if not isinstance(root.get_submodule(path), _WEIGHTED):
            continue
        block_relu = _resnet_block_relu(root, path)
        if block_relu is not None:
            read[layer] = block_relu
        else:
            traced[layer] = path
    if traced:
        with torch.inference_mode():
            calls = _leaf_calls(root, probe)
        for layer, path in traced.items():
            read[layer] = _followed(calls, path)
    return read
