"""Starting a model from pretrained weights: a zoo model or a Lightning checkpoint."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .checkpoint import model_state_dict, read_lightning_checkpoint

__all__ = ["comparable", "initial_weights", "load_initial_weights", "merge_source_config"]

_INHERITED = ("architecture", "architecture_kwargs", "cochleagram")


def initial_weights(init_from: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(config, state_dict)`` of a zoo model or a Lightning checkpoint.

    ``config`` holds the architecture, its kwargs and the cochleagram; ``state_dict`` keys are
    those of :class:`TopoAudioModel` (``backbone.…``). Checkpoints are read by
    :func:`~.checkpoint.read_lightning_checkpoint`, zoo models from safetensors; each call
    reads the source afresh (nothing is cached, so a rewritten file is never served stale).

    Raises:
        ValueError: ``init_from: …`` naming the file and what is wrong with it.
    """
    if str(init_from).endswith(".ckpt"):
        try:
            checkpoint = read_lightning_checkpoint(init_from)
        except ValueError as err:
            raise ValueError(f"init_from: {err}") from err
        hparams = checkpoint["hyper_parameters"]
        return {key: hparams.get(key) for key in _INHERITED}, model_state_dict(checkpoint)
    from ..zoo.registry import from_pretrained

    model = from_pretrained(init_from)
    return {key: model.config[key] for key in _INHERITED}, model.state_dict()


def merge_source_config(init_from: str, **given: Any) -> dict[str, Any]:
    """Architecture, its kwargs and the cochleagram of ``init_from``, checked against ``given``.

    A value left ``None`` is taken from the source (preprocessing travels with the weights);
    one that differs from the source raises ``ValueError`` before anything is trained.
    """
    source, _ = initial_weights(init_from)
    merged = {}
    for key in _INHERITED:
        wanted, found = given.get(key), source.get(key)
        if (
            wanted is not None
            and found is not None
            and comparable(key, wanted) != comparable(key, found)
        ):
            raise ValueError(
                f"init_from: {init_from!r} has {key}={found!r}, but {key}={wanted!r} was asked "
                "for; weights of another architecture or front end cannot initialise this model"
            )
        merged[key] = found if wanted is None else wanted
    return merged


def comparable(key: str, value: Any) -> Any:
    """``value`` of hyper-parameter ``key`` in a form where equal settings compare equal
    (a cochleagram's omitted preset/mode/overrides are their defaults)."""
    if key == "architecture_kwargs":
        return dict(value or {})
    if key != "cochleagram":
        return value
    value = dict(value or {})
    return (
        value.get("preset", "cochleagram_1"),
        value.get("mode", "fast"),
        dict(value.get("overrides") or {}),
    )


def load_initial_weights(model: nn.Module, weights: tuple[dict, dict[str, torch.Tensor]]) -> None:
    """Copy backbone weights strictly; keep heads whose task name and shape match."""
    _, state = weights
    own = model.state_dict()
    is_head = lambda key: key.startswith("backbone.heads.")  # noqa: E731
    body = {k: v for k, v in state.items() if not is_head(k)}
    missing = sorted(k for k in own if not is_head(k) and k not in body)
    unexpected = sorted(k for k in body if k not in own)
    mismatched = sorted(k for k in body if k in own and own[k].shape != body[k].shape)
    if missing or unexpected or mismatched:
        raise ValueError(
            "init_from: the pretrained backbone does not fit this architecture "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]}, shape mismatch {mismatched[:5]})"
        )
    kept = {k: v for k, v in state.items() if is_head(k) and k in own and own[k].shape == v.shape}
    model.load_state_dict({**own, **body, **kept}, strict=True)
