"""Reading a Lightning checkpoint of a ``TopoAudioModule``: the one reader export and
fine-tuning share.

The file is read with ``torch.load(weights_only=True)`` (no arbitrary code runs) every time it
is asked for, so a checkpoint rewritten at the same path is read afresh; nothing is cached.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

__all__ = ["model_state_dict", "read_lightning_checkpoint"]


def read_lightning_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict (``state_dict``, ``hyper_parameters``, ``epoch``, ...), on the CPU.

    Raises:
        ValueError: naming the file, if it is missing, not a PyTorch checkpoint, holds objects
            ``weights_only`` loading refuses, or lacks ``state_dict`` / ``hyper_parameters``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"WeightsUnpickler error:\s*([^\n]+?)(?:\. |\n|$)", str(err))
        reason = found.group(1) if found else str(err).splitlines()[0]
        raise ValueError(
            f"{path}: refused by torch.load(weights_only=True): it holds objects other than "
            f"tensors and plain containers, or it is not a checkpoint ({reason})"
        ) from err
    except Exception as err:  # the unpickler fails on malformed bytes in many ways
        raise ValueError(
            f"{path}: not a readable PyTorch checkpoint, truncated or another format ({err})"
        ) from err
    if not isinstance(checkpoint, dict) or not {"state_dict", "hyper_parameters"} <= set(
        checkpoint
    ):
        raise ValueError(
            f"{path}: not a Lightning checkpoint of a TopoAudioModule (it needs state_dict and "
            "hyper_parameters: train with topoaudio-zoo fit or save_hyperparameters())"
        )
    return checkpoint


def model_state_dict(checkpoint: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The ``TopoAudioModel`` weights of a checkpoint: its ``model.*`` entries, keys without
    the ``model.`` prefix (``backbone.…``), as ``TopoAudioModel.state_dict()`` names them."""
    prefix = "model."
    return {
        key[len(prefix) :]: value
        for key, value in checkpoint["state_dict"].items()
        if key.startswith(prefix)
    }
