"""topoaudio-zoo: a PyTorch Lightning model zoo of topographic auditory models (TopoAudio)."""

from importlib.metadata import PackageNotFoundError, version

from .analysis import extract_activations, load_activations
from .backbones import Backbone, create_backbone, list_architectures
from .cochleagram import Cochleagram, CochleagramConfig
from .topography import TopographicLoss, sheet_shape
from .zoo import TopoAudioModel, create_model, from_pretrained, list_models

try:
    __version__ = version("topoaudio-zoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
