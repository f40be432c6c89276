"""torchaudio, imported only when it is needed (resampling), with an error that says how to fix it.

torchaudio's compiled library is built against one torch release: a mismatched pair fails at
import with an undefined symbol or a missing ``libc10_cuda.so``. Importing it lazily keeps
``import topoaudio_zoo`` and everything that never resamples working with any torchaudio.
"""

from __future__ import annotations

from importlib import metadata
from types import ModuleType

__all__ = ["TESTED_PAIRS", "TorchaudioUnavailableError", "torchaudio_functional"]

# (torch, torchaudio) releases the project's test suite has passed on.
TESTED_PAIRS = (("2.11.0", "2.11.0"), ("2.14.1", "2.11.1"))


class TorchaudioUnavailableError(ImportError):
    """torchaudio is missing or cannot be loaded with the installed torch."""


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def torchaudio_functional() -> ModuleType:
    """``torchaudio.functional``, imported on first use.

    Raises:
        TorchaudioUnavailableError: naming the installed torch and torchaudio versions, the
            pairs known to work and the command that installs the locked pair.
    """
    try:
        import torchaudio.functional
    except (ImportError, OSError) as err:
        pairs = ", ".join(f"torch {t} + torchaudio {a}" for t, a in TESTED_PAIRS)
        raise TorchaudioUnavailableError(
            f"torchaudio cannot be loaded (installed: torch {_installed('torch')}, torchaudio "
            f"{_installed('torchaudio')}): {err}. torchaudio must be built for the installed "
            f"torch; tested pairs: {pairs}. Fix: pip install 'torch==2.14.1' "
            "'torchaudio==2.11.1' (or install from the project's requirements/lock.txt)."
        ) from err
    return torchaudio.functional
