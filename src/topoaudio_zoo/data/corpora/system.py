"""External programs the renderers call: finding them and running them with clear errors."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

__all__ = ["DEBIAN_PACKAGES", "MissingBinaryError", "require_binary", "run_binary"]

# Debian package that provides each program the corpora need.
DEBIAN_PACKAGES = {
    "espeak-ng": "espeak-ng",
    "fluidsynth": "fluidsynth",
    "flite": "flite",
    "festival": "festival",
}


class MissingBinaryError(FileNotFoundError):
    """A required program is not on ``PATH``; the message names the Debian package to install."""


def require_binary(name: str) -> str:
    """Return the full path of program ``name`` found on ``PATH``.

    Raises:
        MissingBinaryError: saying which Debian package provides it.
    """
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES.get(name, name)
        raise MissingBinaryError(
            f"the program {name!r} was not found on PATH; install it with "
            f"`apt-get install {package}` (Debian/Ubuntu)"
        )
    return path


def run_binary(args: Sequence[str], what: str) -> bytes:
    """Run ``args`` (``args[0]`` a full path) and return its standard output.

    Args:
        args: the command line.
        what: a short description of the job for the error message.

    Raises:
        RuntimeError: when the program exits with a non-zero status; its standard error is
            quoted.
    """
    proc = subprocess.run(list(args), capture_output=True, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"{what} failed (exit status {proc.returncode}): {stderr}")
    return proc.stdout
