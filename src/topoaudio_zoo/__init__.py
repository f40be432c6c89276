"""topoaudio-zoo: a PyTorch Lightning model zoo of topographic auditory models (TopoAudio)."""

from importlib.metadata import PackageNotFoundError, version

from .cochleagram import Cochleagram, CochleagramConfig

try:
    __version__ = version("topoaudio-zoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["Cochleagram", "CochleagramConfig", "__version__"]
