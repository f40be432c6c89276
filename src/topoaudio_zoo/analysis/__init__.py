"""Analyses of trained models: unit activations on cortical sheets, streamed to disk or not."""

from .activation_hdf5 import load_activations
from .activation_result import POOLS, Activations, LayerLayout
from .activations import extract_activations, on_sheet
from .sound_sources import AudioFiles, audio_files

__all__ = [
    "POOLS",
    "Activations",
    "AudioFiles",
    "LayerLayout",
    "audio_files",
    "extract_activations",
    "load_activations",
    "on_sheet",
]
