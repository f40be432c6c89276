"""TopoLoss (TopoNets, Deb et al. 2025) on the zoo's backbones.

For each constrained layer the incoming weight vectors of its units (a Conv2d's output
channel: ``C_in·kh·kw`` values; a Linear's output unit: its row) are laid on the layer's
cortical sheet ``(H, W, D)`` (see :mod:`topoaudio_zoo.topography.sheets`). The sheet is
blurred by bilinear down-sampling with ``scale_factor = (1/φ_h, 1/φ_w)`` followed by bilinear
up-sampling back to ``H×W``, and the layer's value is ``1 − mean over units of
cos(original vector, blurred vector)``. The loss is ``τ × mean over layers`` of these
values, i.e. exactly
``topoloss.TopoLoss([LaplacianPyramid(name, φ_h, φ_w, scale=τ), …]).compute(model)``
(the package stays the test oracle; the per-sheet value and its gradient are computed by
:mod:`topoaudio_zoo.topography.blur`, several times faster on CPU).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .blur import SheetBlur, Workspace, blurred_size, sheet_cosine_losses
from .sheets import sheet_shape

__all__ = ["DEFAULT_FACTOR", "TopographicLoss", "unwrap_model"]

DEFAULT_FACTOR = 4.0
"""Default blur factor φ (down-sampling factor of the sheet). TopoNets did not publish theirs;
4 is the value of their demo notebook and fits every default layer of the zoo's backbones at
``width >= 16`` (the smallest default sheet there is 4×4)."""

_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside DataParallel/DistributedDataParallel (``.module``) and
    ``torch.compile`` (``._orig_mod``) wrappers, however nested."""
    while True:
        if isinstance(model, nn.DataParallel | nn.parallel.DistributedDataParallel):
            model = model.module
        elif isinstance(getattr(model, "_orig_mod", None), nn.Module):
            model = model._orig_mod
        else:
            return model


@dataclass(frozen=True)
class _SheetLayer:
    name: str
    module: nn.Conv2d | nn.Linear
    height: int
    width: int
    dim: int  # length of each unit's weight vector


def _check_factor(factor: float | tuple[float, float]) -> tuple[float, float]:
    pair = tuple(factor) if isinstance(factor, tuple | list) else (factor, factor)
    if len(pair) != 2 or not all(
        isinstance(value, int | float) and not isinstance(value, bool) for value in pair
    ):
        raise ValueError(f"factor must be a number or a pair (φ_h, φ_w), got {factor!r}")
    if not all(math.isfinite(value) and value >= 1 for value in pair):
        raise ValueError(f"factor must be finite and >= 1, got {factor!r}")
    return float(pair[0]), float(pair[1])


def _strip_wrapper_prefixes(name: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in _WRAPPER_PREFIXES:
            if name.startswith(prefix):
                name, stripped = name[len(prefix) :], True
    return name


def _resolve_layer(model: nn.Module, name: str, factor: tuple[float, float]) -> _SheetLayer:
    if not isinstance(name, str) or not name:
        raise ValueError(f"topographic layer names must be non-empty strings, got {name!r}")
    for path in (name, _strip_wrapper_prefixes(name)):
        try:
            module = model.get_submodule(path)
        except AttributeError:
            continue
        break
    else:
        raise ValueError(f"topographic layer {name!r} does not exist in {type(model).__name__}")
    if not isinstance(module, nn.Conv2d | nn.Linear):
        raise ValueError(
            f"topographic layer {name!r} is a {type(module).__name__}; only nn.Conv2d and "
            "nn.Linear layers can be constrained"
        )
    n_units = module.weight.shape[0]
    height, width = sheet_shape(n_units)
    if height == 1 or width == 1:
        raise ValueError(
            f"topographic layer {name!r} has {n_units} units, a degenerate {height}×{width} "
            "sheet (a classifier head or a prime number of units): it cannot be constrained"
        )
    if height < factor[0] or width < factor[1] or min(blurred_size(height, width, factor)) < 1:
        raise ValueError(
            f"topographic layer {name!r} has a {height}×{width} sheet, smaller than the blur "
            f"factor {factor}: use a factor of at most ({height}, {width}) or drop the layer"
        )
    return _SheetLayer(path, module, height, width, module.weight[0].numel())


def _mean_gradient(n_values: int, tau: float) -> float:
    """The gradient that ``(tau * values.mean()).backward()`` gives each of ``n_values``
    float32 values, bit for bit (the loss' gradients are precomputed for it)."""
    with torch.inference_mode(False), torch.enable_grad():
        values = torch.zeros(n_values, requires_grad=True)
        (grad,) = torch.autograd.grad(tau * values.mean(), values)
    return float(grad[0])


class TopographicLoss:
    """τ × mean over layers of TopoLoss' per-layer value (see the module doc).

    ``model``: a backbone, possibly wrapped by DDP or ``torch.compile`` (unwrapped here).
    ``tau``: strength τ ≥ 0; ``tau == 0`` means no term at all (calling returns a constant
    0-dim zero without computing anything). ``factor``: blur factor φ or ``(φ_h, φ_w)``, each
    ≥ 1 and at most the corresponding sheet side of every layer. ``layers``: ``"default"``
    (the backbone's :meth:`default_topographic_layers`) or module paths of Conv2d/Linear
    layers (a ``module.``/``_orig_mod.`` prefix left by a wrapper is dropped). Layers are
    resolved and checked once, here (so create the loss after any surgery that replaces
    them); invalid ones raise ``ValueError`` naming the layer. The loss is computed in
    float32 with autocast disabled, whatever the weights' dtype and device. The weights'
    gradients are computed with the value (see :meth:`layer_values`) and held until the
    backward pass: float32 memory as large as the constrained weights (about 94 MB for
    ``cochresnet50``), which the gradients take anyway once in ``.grad``.

    Not an ``nn.Module`` (it holds no parameters of its own and must not register the
    model's layers a second time when stored on a LightningModule).
    """

    def __init__(
        self,
        model: nn.Module,
        tau: float,
        factor: float | tuple[float, float] = DEFAULT_FACTOR,
        layers: str | Sequence[str] = "default",
    ) -> None:
        if isinstance(tau, bool) or not isinstance(tau, int | float) or not math.isfinite(tau):
            raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
        if tau < 0:
            raise ValueError(f"tau must be >= 0 (0 disables the loss), got {tau!r}")
        self.tau = float(tau)
        self.factor = _check_factor(factor)
        module = unwrap_model(model)
        if isinstance(layers, str):
            if layers != "default":
                raise ValueError(f"layers must be 'default' or a list of names, got {layers!r}")
            if not callable(getattr(module, "default_topographic_layers", None)):
                raise ValueError(
                    f"layers='default' needs a zoo backbone; {type(module).__name__} has no "
                    "default_topographic_layers(): pass the layer names"
                )
            layers = module.default_topographic_layers()
        names = list(layers)
        if not names:
            raise ValueError("layers must name at least one layer")
        self._layers = [_resolve_layer(module, name, self.factor) for name in names]
        self.layer_names = [layer.name for layer in self._layers]
        duplicates = sorted({name for name in self.layer_names if self.layer_names.count(name) > 1})
        if duplicates:
            raise ValueError(f"topographic layers listed more than once: {duplicates}")
        self._blurs = [
            SheetBlur(layer.height, layer.width, layer.dim, self.factor) for layer in self._layers
        ]
        self._workspace = Workspace()
        self._grad_scale = _mean_gradient(len(self._layers), self.tau or 1.0)

    @property
    def enabled(self) -> bool:
        """Whether the loss contributes (``tau > 0``)."""
        return self.tau > 0

    def layer_values(self) -> torch.Tensor:
        """Unscaled per-layer values ``1 − mean cos``, a ``(len(layer_names),)`` float32
        tensor with graph; computed whatever ``tau`` is (e.g. for logging).

        With gradients enabled, the weights' gradients are computed here already, for the
        loss ``tau × values.mean()`` (any other use of the values is rescaled in the
        backward pass, at the cost of one more pass over the weights): compute the values
        once per step and take both the loss and the logs from them; wrap log-only calls
        in ``torch.no_grad()``."""
        weights = [layer.module.weight for layer in self._layers]
        with torch.autocast(device_type=weights[0].device.type, enabled=False):
            return sheet_cosine_losses(weights, self._blurs, self._workspace, self._grad_scale)

    def per_layer(self) -> dict[str, torch.Tensor]:
        """:meth:`layer_values` by layer name (0-dim float32 tensors, with graph), in the
        order of ``layer_names``."""
        return dict(zip(self.layer_names, self.layer_values().unbind(), strict=True))

    def __call__(self) -> torch.Tensor:
        """The loss, a 0-dim float32 tensor: ``tau × mean(layer_values())``."""
        if not self.enabled:
            return torch.zeros((), device=self._layers[0].module.weight.device)
        return self.tau * self.layer_values().mean()

    def __repr__(self) -> str:
        return f"TopographicLoss(tau={self.tau}, factor={self.factor}, layers={self.layer_names})"
