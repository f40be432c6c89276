"""The common base class of every backbone: input handling, heads, read-outs and hooks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .heads import HeadsSpec, build_heads, parse_heads

__all__ = ["Backbone", "as_image", "capture_outputs"]


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


def capture_outputs(
    root: nn.Module, run: Callable[[], object], paths: Sequence[str], stop: bool = True
) -> dict[str, torch.Tensor]:
    """Outputs of the submodules ``paths`` of ``root`` during ``run()``, by forward hooks.

    Each output is that of the module's first call (a tuple output gives its first element).
    With ``stop``, ``run`` is cut short as soon as every output is recorded. Hooks are removed
    afterwards; they ignore forward passes of the same modules run by other threads.

    Raises:
        ValueError: naming the paths whose module never ran (e.g. a container such as
            ``heads``, which is never called itself).
    """
    captured: dict[str, torch.Tensor] = {}
    remaining = set(paths)
    thread = threading.get_ident()

    def capture(path: str) -> Callable[..., None]:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if threading.get_ident() != thread:  # another thread's forward pass
                return
            if isinstance(output, tuple | list) and output:
                output = output[0]
            captured.setdefault(path, output)
            remaining.discard(path)
            if stop and not remaining:
                raise _StopForward

        return hook

    handles = [root.get_submodule(path).register_forward_hook(capture(path)) for path in remaining]
    try:
        if remaining or not stop:
            run()
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [path for path in paths if path not in captured]
    if missing:
        raise ValueError(
            f"layers {missing} produced no output in the forward pass (a container that "
            "is never called, e.g. 'heads' or 'blocks'): name one of its submodules"
        )
    return {path: captured[path] for path in paths}


class Backbone(nn.Module):
    """A network from cochleagram to pooled features, with optional linear heads.

    Subclasses build their layers, set ``num_features``, ``_stage_paths`` (read-out name →
    module path, without ``final``) and ``feature_stages``, call :meth:`reset_heads` last and
    implement :meth:`forward_features`, :meth:`forward_head` and
    :meth:`default_topographic_layers`.

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
    feature_stages: tuple[str, ...]
    """Read-out names of the stages :meth:`forward_intermediates` indexes, input to output."""

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The last feature map before pooling and heads (timm's ``forward_features``).

        ``x``: cochleagram ``(batch, freq, time)`` or ``(batch, 1, freq, time)``. Conv backbones
        return ``(batch, C, f, t)``, transformers the normalised tokens ``(batch, tokens, D)``.
        """
        raise NotImplementedError

    def forward_head(
        self, x: torch.Tensor, pre_logits: bool = False
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """Pool :meth:`forward_features`' output and apply the heads (timm's ``forward_head``).

        With ``pre_logits=True``: the pooled embedding ``(batch, num_features)``. Otherwise the
        logits ``(batch, n_classes)``: a dict per task, a tensor for an ``int`` head spec, or
        the pooled embedding when there is no head.
        """
        raise NotImplementedError

    def _apply_heads(self, features: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        if len(self.heads) == 0:
            return features
        logits = {task: head(features) for task, head in self.heads.items()}
        if self._single_head:
            return next(iter(logits.values()))
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]:
        """Logits ``(batch, n_classes)``: a dict per task, a tensor for an ``int`` head spec,
        or the pooled features ``(batch, num_features)`` when there is no head.

        ``x``: cochleagram ``(batch, freq, time)`` or ``(batch, 1, freq, time)``.
        """
        return self.forward_head(self.forward_features(x))

    _output_fmts: tuple[str, ...] = ("NCHW",)

    def _format_intermediate(self, x: torch.Tensor, norm: bool, output_fmt: str) -> torch.Tensor:
        """A stage output in ``output_fmt``; conv stages are already ``(batch, C, f, t)``."""
        return x

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | Sequence[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
    ) -> list[torch.Tensor] | tuple[torch.Tensor, list[torch.Tensor]]:
        """The final features and the chosen stages' outputs (timm's ``forward_intermediates``).

        Args:
            x: cochleagram ``(batch, freq, time)`` or ``(batch, 1, freq, time)``.
            indices: stages of :attr:`feature_stages` to return: ``None`` (all), an ``int``
                ``n`` (the last ``n``) or a list of indices (negative ones count from the end).
            norm: apply the final norm to transformer stages (no effect on conv stages).
            stop_early: stop the forward pass after the last chosen stage (only with
                ``intermediates_only``, as in timm).
            output_fmt: ``"NCHW"`` — conv stages ``(batch, C, f, t)``, transformer stages as a
                ``(batch, D, grid_f, grid_t)`` patch grid (CLS dropped); transformers also
                give ``"NLC"``, tokens ``(batch, patches, D)`` (CLS dropped).
            intermediates_only: return only the list of stage outputs.

        Returns:
            ``(forward_features(x), [stage outputs])``, or the list alone.
        """
        n_stages = len(self.feature_stages)
        if indices is None:
            chosen = list(range(n_stages))
        elif isinstance(indices, int) and not isinstance(indices, bool):
            if not 0 < indices <= n_stages:
                raise ValueError(f"indices: expected 1..{n_stages} last stages, got {indices}")
            chosen = list(range(n_stages - indices, n_stages))
        else:
            chosen = [int(i) % n_stages if -n_stages <= int(i) < n_stages else -1 for i in indices]
            if not chosen or -1 in chosen:
                raise ValueError(
                    f"indices: expected stage indices in [-{n_stages}, {n_stages}) of "
                    f"{list(self.feature_stages)}, got {list(indices)!r}"
                )
        if output_fmt not in self._output_fmts:
            raise ValueError(
                f"output_fmt: {type(self).__name__} gives {self._output_fmts}, got {output_fmt!r}"
            )
        paths = [self.resolve_layer(self.feature_stages[i]) for i in chosen]
        early = stop_early and intermediates_only
        final: list[torch.Tensor] = []
        captured = capture_outputs(
            self, lambda: final.append(self.forward_features(x)), paths, stop=early
        )
        stages = [self._format_intermediate(captured[path], norm, output_fmt) for path in paths]
        if intermediates_only:
            return stages
        return final[0], stages

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

    def forward_readouts(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (read-out names or module paths) for input ``x``.

        Each activation is the output of the module's first call in the forward pass,
        recorded by a forward hook; the forward pass stops as soon as all are recorded.
        Gradients flow as usual (wrap in ``torch.no_grad()`` for extraction only).
        Returns ``{layer: tensor}`` in the order of ``layers``.
        """
        if isinstance(layers, str):
            layers = [layers]
        paths = {layer: self.resolve_layer(layer) for layer in layers}
        captured = capture_outputs(self, lambda: self.forward(x), list(paths.values()))
        return {layer: captured[path] for layer, path in paths.items()}

    # ------------------------------------------------------------------------ topography
    def default_topographic_layers(self) -> list[str]:
        """Module paths of the Conv2d/Linear layers that TopoLoss constrains by default."""
        raise NotImplementedError
