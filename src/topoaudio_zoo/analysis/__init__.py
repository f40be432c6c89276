"""Analyses of trained models: unit activations on cortical sheets, streamed to disk or not."""

from .activation_file import Activations, LayerLayout, load_activations
from .activations import extract_activations, on_sheet
from .sound_sources import audio_files

__all__ = [
    "Activations",
    "LayerLayout",
    "audio_files",
    "extract_activations",
    "load_activations",
    "on_sheet",
]
