"""Strict, safetensors-only weight loading with errors that say what is wrong and how to fix it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

__all__ = [
    "WeightsError",
    "file_sha256",
    "load_state_dict_strict",
    "load_weights_strict",
    "verify_sha256",
]


class WeightsError(ValueError):
    """Weights that cannot be loaded into a model: corrupt file, missing/unexpected keys, shapes."""


def _listing(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", … ({len(keys) - limit} more)" if len(keys) > limit else "")


def file_sha256(path: str | os.PathLike) -> str:
    """The hex SHA-256 digest of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, source: str = "") -> None:
    """Check that ``path`` has the SHA-256 digest ``expected`` (hex).

    Raises:
        WeightsError: naming the file, both digests and how to restore the file.
    """
    actual = file_sha256(path)
    if actual != expected.lower():
        where = f"{source} ({path})" if source else str(path)
        raise WeightsError(
            f"{where}: checksum mismatch (sha256 {actual}, expected {expected}). The file is "
            "corrupted or was modified since its checksum was recorded: restore it (reinstall "
            "the package, download it again with force_download=True, or save the model again "
            "with save_pretrained, which records a new checksum)."
        )


def load_weights_strict(
    model: nn.Module, path: str | os.PathLike, source: str = "", sha256: str | None = None
) -> nn.Module:
    """Load ``model.safetensors`` into ``model``; every key must match in name and shape.

    Nothing is unpickled: the file is read with ``safetensors``. Tensors stored in another
    floating dtype (e.g. float16) are converted to the model's dtype.

    Args:
        model: the model built from its configuration.
        path: the safetensors file.
        source: names the weights in messages (registry name, Hub id, folder).
        sha256: the file's expected hex SHA-256 digest, checked before anything is read.

    Raises:
        WeightsError: a checksum mismatch, a corrupted or truncated file, missing or
            unexpected keys (named), or shape or dtype mismatches (named) — the config and the
            weights do not belong together.
    """
    path = Path(path)
    where = f"{source} ({path})" if source else str(path)
    if sha256 is not None:
        verify_sha256(path, sha256, source)
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(
            f"{where}: not a readable safetensors file ({err}). The file is corrupted or "
            "incomplete: delete it (or the cached snapshot) and download again, e.g. with "
            "force_download=True."
        ) from err
    return load_state_dict_strict(model, state, where)


def load_state_dict_strict(
    model: nn.Module,
    state: dict[str, torch.Tensor],
    where: str,
    built_from: str = "its config.json",
) -> nn.Module:
    """Copy ``state`` into ``model`` after checking every key's name and shape.

    Floating tensors of another floating dtype (e.g. float16) are converted to the model's
    dtype; a floating tensor where the model holds an integer one (or the reverse) is refused.

    Args:
        model: the model built from its configuration.
        state: the tensors to load.
        where: names the weights' source in messages.
        built_from: what the model was built from, for messages.

    Raises:
        WeightsError: naming ``where``, the missing and unexpected keys and the shape and dtype
            mismatches.
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(
        f"{key} {tuple(state[key].shape)} vs {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    )
    kinds = sorted(
        f"{key} {state[key].dtype} vs {value.dtype}"
        for key, value in expected.items()
        if key in state and state[key].is_floating_point() != value.is_floating_point()
    )
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches (file vs model): {_listing(mismatched)}")
    if kinds:
        problems.append(f"dtype mismatches (file vs model): {_listing(kinds)}")
    if problems:
        raise WeightsError(
            f"{where}: the weights do not match the model built from {built_from} — "
            + "; ".join(problems)
        )
    with torch.no_grad():
        model.load_state_dict(state, strict=True)
    return model
