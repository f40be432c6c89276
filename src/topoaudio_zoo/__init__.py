"""topoaudio-zoo: a PyTorch Lightning model zoo of topographic auditory models (TopoAudio).

The public names below are imported on first use (PEP 562), so ``import topoaudio_zoo`` is
fast and loads neither torch nor torchaudio, Lightning or matplotlib until they are needed.
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .analysis import extract_activations, load_activations
    from .backbones import Backbone, create_backbone, list_architectures
    from .cochleagram import Cochleagram, CochleagramConfig
    from .topography import TopographicLoss, sheet_shape
    from .zoo import TopoAudioModel, create_model, from_pretrained, list_models

try:
    __version__ = metadata.version("topoaudio-zoo")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

# Public name → the subpackage that defines it.
_LAZY = {
    "extract_activations": "analysis",
    "load_activations": "analysis",
    "Backbone": "backbones",
    "create_backbone": "backbones",
    "list_architectures": "backbones",
    "Cochleagram": "cochleagram",
    "CochleagramConfig": "cochleagram",
    "TopographicLoss": "topography",
    "sheet_shape": "topography",
    "TopoAudioModel": "zoo",
    "create_model": "zoo",
    "from_pretrained": "zoo",
    "list_models": "zoo",
}

__all__ = [
    "Backbone",
    "Cochleagram",
    "CochleagramConfig",
    "TopoAudioModel",
    "TopographicLoss",
    "__version__",
    "create_backbone",
    "create_model",
    "extract_activations",
    "from_pretrained",
    "list_architectures",
    "list_models",
    "load_activations",
    "sheet_shape",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
