"""Training and fine-tuning with Lightning: ``TopoAudioModule`` and the LightningCLI recipes."""

from .module import IGNORE_INDEX, TopoAudioModule

__all__ = ["IGNORE_INDEX", "TopoAudioModule"]
