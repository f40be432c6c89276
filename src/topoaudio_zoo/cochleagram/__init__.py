"""The cochleagram front end (``cochleagram_1`` of the published CochResNet50/CochCNN9 models)."""

from .compression import clipped_power_compression
from .config import PRESETS, CochleagramConfig, resolve_config
from .filters import erb_cosine_filters, erb_to_hz, hz_to_erb
from .module import MODES, Cochleagram

__all__ = [
    "MODES",
    "PRESETS",
    "Cochleagram",
    "CochleagramConfig",
    "clipped_power_compression",
    "erb_cosine_filters",
    "erb_to_hz",
    "hz_to_erb",
    "resolve_config",
]
