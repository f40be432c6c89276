"""The common base class of every backbone: input handling, heads, read-outs and hooks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .heads import HeadsSpec, build_heads, parse_heads

__all__ = ["Backbone", "as_image"]


def as_image(x: torch.Tensor) -> torch.Tensor:
    """Return a cochleagram batch as a one-channel image ``(batch, 1, freq, time)``.

    Accepts ``(batch, freq, time)`` or ``(batch, 1, freq, time)``.
    """
    if x.ndim == 3:
        return x.unsqueeze(1)
    if x.ndim == 4 and x.shape[1] == 1:
        return x
    raise ValueError(
        "x must be a cochleagram batch of shape (batch, freq, time) or (batch, 1, freq, time), "
        f"got shape {tuple(x.shape)}"
    )


class _StopForward(Exception):
    """Raised by a capture hook once every requested activation has been recorded."""


class Backbone(nn.Module):
    """A network from cochleagram to pooled features, with optional linear heads.

    Subclasses build their layers, set ``num_features`` and ``_stage_paths`` (read-out name →
    module path, without ``final``), call :meth:`reset_heads` last and implement
    :meth:`_features` and :meth:`default_topographic_layers`.

    ``arch_name`` and ``arch_kwargs`` are filled in by
    :func:`~topoaudio_zoo.backbones.create_backbone`:
    ``create_backbone(m.arch_name, heads=m.heads_config, **m.arch_kwargs)`` rebuilds the same
    network (same ``state_dict`` keys and shapes, same output type).
    """

    num_features: int
    _stage_paths: dict[str, str]

    def __init__(self) -> None:
        super().__init__()
        self.arch_name = ""
        self.arch_kwargs: dict[str, Any] = {}
        self._single_head = False

    # ----------------------------------------------------------------------------- heads
    def reset_heads(self, heads: HeadsSpec) -> None:
        """Replace the heads by freshly initialised ones (e.g. to fine-tune on new tasks).

        ``heads``: ``None``/``{}`` (forward returns the pooled features), an ``int`` (one head,
        forward returns its logits) or ``{task: n_classes}`` (forward returns a dict).
        The new heads are created on the device and dtype of the existing parameters.
        """
        sizes, single = parse_heads(heads)
        new_heads = build_heads(self.num_features, sizes)
        reference = next(self.parameters(), None)
        if reference is not None:
            new_heads.to(device=reference.device, dtype=reference.dtype)
        self.heads = new_heads
        self._single_head = single

    @property
    def head_sizes(self) -> dict[str, int]:
        """Task name → number of classes of every head (empty without heads)."""
        return {task: head.out_features for task, head in self.heads.items()}

    @property
    def heads_config(self) -> HeadsSpec:
        """The ``heads`` argument that recreates these heads and this output type."""
        sizes = self.head_sizes
        if self._single_head:
            return next(iter(sizes.values()))
        return sizes or None

    # --------------------------------------------------------------------------- forward
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(batch, num_features)`` of a ``(batch, 1, freq, time)`` input."""
        raise NotImplementedError

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled embedding before the heads, ``(batch, num_features)``.

        ``x``: cochleagram ``(batch, freq, time)`` or ``(batch, 1, freq, time)``.
        """
        return self._features(as_image(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Logits ``(batch, n_classes)``: a dict per task, a tensor for an ``int`` head spec,
        or the pooled features ``(batch, num_features)`` when there is no head.

        ``x``: cochleagram ``(batch, freq, time)`` or ``(batch, 1, freq, time)``.
        """
        features = self.forward_features(x)
        if len(self.heads) == 0:
            return features
        logits = {task: head(features) for task, head in self.heads.items()}
        if self._single_head:
            return next(iter(logits.values()))
        return logits

    # -------------------------------------------------------------------------- read-outs
    @property
    def readout_layers(self) -> dict[str, str]:
        """Read-out name → module path; a forward hook on the path yields the activation.

        Besides the architecture's stages: ``final_<task>`` → ``heads.<task>`` for every head,
        and ``final`` → the head when there is exactly one. Conv read-outs are
        ``(batch, channels, freq, time)`` (units along dim 1), transformer read-outs
        ``(batch, tokens, dim)`` (units along the last dim), pooled/linear read-outs
        ``(batch, units)``.
        """
        layers = dict(self._stage_paths)
        tasks = list(self.heads)
        for task in tasks:
            layers[f"final_{task}"] = f"heads.{task}"
        if len(tasks) == 1:
            layers["final"] = f"heads.{tasks[0]}"
        return layers

    def resolve_layer(self, layer: str) -> str:
        """Module path of a read-out name or of a module path (returned unchanged)."""
        readouts = self.readout_layers
        if layer in readouts:
            return readouts[layer]
        if layer and isinstance(layer, str):
            try:
                self.get_submodule(layer)
            except AttributeError:
                pass
            else:
                return layer
        raise ValueError(
            f"unknown layer {layer!r} for {self.arch_name or type(self).__name__}: use a "
            f"read-out name ({', '.join(readouts)}) or a module path from named_modules()"
        )

    def forward_intermediates(
        self, x: torch.Tensor, layers: Sequence[str]
    ) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (read-out names or module paths) for input ``x``.

        Each activation is the output of the module's first call in the forward pass,
        recorded by a forward hook; the forward pass stops as soon as all are recorded.
        Gradients flow as usual (wrap in ``torch.no_grad()`` for extraction only).
        Returns ``{layer: tensor}`` in the order of ``layers``.
        """
        if isinstance(layers, str):
            layers = [layers]
        paths = {layer: self.resolve_layer(layer) for layer in layers}
        captured: dict[str, torch.Tensor] = {}
        remaining = set(paths.values())

        def capture(path: str):
            def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
                captured.setdefault(path, output)
                remaining.discard(path)
                if not remaining:
                    raise _StopForward

            return hook

        handles = [
            self.get_submodule(path).register_forward_hook(capture(path))
            for path in set(paths.values())
        ]
        try:
            if remaining:
                self.forward(x)
        except _StopForward:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [layer for layer, path in paths.items() if path not in captured]
        if missing:
            raise ValueError(
                f"layers {missing} produced no output in the forward pass (a container that "
                "is never called, e.g. 'heads' or 'blocks'): name one of its submodules"
            )
        return {layer: captured[path] for layer, path in paths.items()}

    # ------------------------------------------------------------------------ topography
    def default_topographic_layers(self) -> list[str]:
        """Module paths of the Conv2d/Linear layers that TopoLoss constrains by default."""
        raise NotImplementedError
