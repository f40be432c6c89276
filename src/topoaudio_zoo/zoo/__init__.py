"""The model zoo: ``TopoAudioModel``, the offline registry, Hub loading and publishing."""

from .config import normalize_config
from .hub import HubOptions, ModelNotAvailableError, fetch_model_files
from .model import TopoAudioModel
from .registry import (
    DEFAULT_BASELINE,
    DEFAULT_MODEL,
    ModelEntry,
    checkpoint_dirs,
    create_model,
    from_pretrained,
    get_entry,
    list_models,
    locate_model_files,
    register_model,
)
from .weights import WeightsError, load_state_dict_strict, load_weights_strict

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_MODEL",
    "HubOptions",
    "ModelEntry",
    "ModelNotAvailableError",
    "TopoAudioModel",
    "WeightsError",
    "checkpoint_dirs",
    "create_model",
    "fetch_model_files",
    "from_pretrained",
    "get_entry",
    "list_models",
    "load_state_dict_strict",
    "load_weights_strict",
    "locate_model_files",
    "normalize_config",
    "register_model",
]
