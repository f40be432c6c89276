"""Torch devices named by the user (``--device``, ``map_location``), checked with a clear error."""

from __future__ import annotations

import torch

__all__ = ["available_devices", "resolve_device"]


def available_devices() -> list[str]:
    """The devices this machine offers: ``cpu``, then ``cuda:0`` … and ``mps`` when present."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device) -> torch.device:
    """The torch device ``name`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), checked.

    Raises:
        ValueError: naming ``name`` and listing the available devices, when it is not a device
            name, or names a GPU this machine does not have (e.g. ``cuda:0`` without CUDA).
    """
    available = available_devices()
    listing = f"available devices: {', '.join(available)}"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError) as err:
        raise ValueError(f"device {str(name)!r}: not a device name; {listing}") from err
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {str(name)!r}: no CUDA GPU is available on this machine "
                f"(torch {torch.__version__}); {listing}"
            )
        if (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(f"device {str(name)!r}: no such GPU; {listing}")
        return device
    if device.type == "mps" and torch.backends.mps.is_available():
        return device
    raise ValueError(f"device {str(name)!r}: not available on this machine; {listing}")
