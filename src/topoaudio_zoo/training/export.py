"""Lightning checkpoint → zoo model folder (``model.safetensors`` + ``config.json`` + card).

A zoo model folder can also be copied (:func:`export_folder`), e.g. to store it as float16.

The checkpoint is read by :func:`~.checkpoint.read_lightning_checkpoint` (``torch.load`` with
``weights_only=True``: no arbitrary code runs), the :class:`~.module.TopoAudioModule` is
rebuilt from its hyper-parameters without touching ``init_from`` (the weights come from the
checkpoint, so the model it was fine-tuned from need not be reachable), and the trained
:class:`TopoAudioModel` is saved.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from pathlib import Path
from typing import Any

import torch

from ..zoo.model import TopoAudioModel
from ..zoo.weights import load_state_dict_strict
from .checkpoint import model_state_dict, read_lightning_checkpoint
from .module import TopoAudioModule

__all__ = ["export_checkpoint", "export_folder", "read_metrics"]


def _fail(path: Path, message: str) -> None:
    raise ValueError(f"{path}: {message}")


def read_metrics(path: str | os.PathLike) -> dict[str, Any]:
    """Metrics to record with the weights, from a JSON object.

    Each entry is ``name: number`` or ``name: {"value": number, "protocol": "..."}`` (the
    protocol says how the number was measured: split, crop, averaging).

    Raises:
        ValueError: naming the file and the offending entry.
    """
    path = Path(path)
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the metrics JSON ({err})") from err
    if not isinstance(metrics, dict):
        _fail(path, "expected a JSON object {name: value or {value, protocol}}")
    for name, entry in metrics.items():
        value = entry.get("value") if isinstance(entry, dict) else entry
        if isinstance(entry, dict) and set(entry) - {"value", "protocol"}:
            _fail(path, f"{name}: unknown field(s) {sorted(set(entry) - {'value', 'protocol'})}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            _fail(path, f"{name}: expected a finite number, got {value!r}")
    return metrics


def _module_from_hparams(path: Path, hparams: dict[str, Any]) -> TopoAudioModule:
    accepted = set(inspect.signature(TopoAudioModule.__init__).parameters) - {"self"}
    # LightningCLI adds bookkeeping entries such as ``_instantiator``.
    hparams = {k: v for k, v in hparams.items() if not k.startswith("_")}
    unknown = sorted(set(hparams) - accepted)
    if unknown:
        _fail(path, f"hyper-parameters {unknown} are not TopoAudioModule arguments")
    tasks = hparams.get("tasks") or {}
    if not tasks or not all("num_classes" in t or "labels" in t for t in tasks.values()):
        _fail(
            path,
            "its tasks have no class counts (saved before the DataModule's setup filled "
            "them); export a checkpoint written during or after training",
        )
    hparams.update(init_from=None, freeze_backbone=False)
    return TopoAudioModule(**hparams)


def _training_record(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The recipe the weights came from: optimiser, schedule, progress, data arguments."""
    hparams = ckpt["hyper_parameters"]
    saved = ckpt.get("datamodule_hyper_parameters") or {}
    data = {
        key: value
        for key, value in saved.items()
        if not key.startswith("_") and isinstance(value, str | int | float | bool | list | None)
    }
    record = {
        "optimizer": hparams.get("optimizer"),
        "scheduler": hparams.get("scheduler"),
        "task_weights": {task: spec.get("weight", 1.0) for task, spec in hparams["tasks"].items()},
        "epochs": int(ckpt.get("epoch", -1)) + 1,
        "steps": int(ckpt.get("global_step", 0)),
        "data": {"class": saved.get("_class_path", ""), **data},
        "lightning_version": ckpt.get("pytorch-lightning_version", ""),
    }
    return json.loads(json.dumps(record, default=str))


def _save(model: TopoAudioModel, out: Path, float16: bool) -> TopoAudioModel:
    """Write ``model`` (as float16 if asked) into ``out`` and reload it strictly from there."""
    if float16:
        model = model.to(torch.float16)
    model.save_pretrained(out)
    return TopoAudioModel.from_folder(out, label=str(out))


def export_checkpoint(
    checkpoint: str | os.PathLike,
    out_dir: str | os.PathLike,
    metrics: dict[str, Any] | None = None,
    name: str | None = None,
    float16: bool = False,
    description: str | None = None,
) -> TopoAudioModel:
    """Write a Lightning checkpoint of a ``TopoAudioModule`` as a zoo model folder.

    Args:
        checkpoint: the ``.ckpt`` file.
        out_dir: folder to write ``model.safetensors``, ``config.json`` and ``README.md`` to
            (created; those three files are replaced).
        metrics: recorded in the config and the card (see :func:`read_metrics`).
        name: the model's name (default: the ``name`` it was trained with).
        float16: store floating tensors as float16 (half the size; loading converts them
            back to float32). Integer buffers are kept.
        description: the model's one-line description in its config and card (default: the
            one it was trained with).

    Returns:
        The model as saved, reloaded strictly from ``out_dir``.

    Raises:
        ValueError: naming the checkpoint and what is wrong with it.
    """
    path = Path(checkpoint)
    ckpt = read_lightning_checkpoint(path)
    hparams = dict(ckpt["hyper_parameters"])
    if name is not None:
        hparams["name"] = name
    if description is not None:
        hparams["description"] = description
    module = _module_from_hparams(path, hparams)
    load_state_dict_strict(
        module.model,
        model_state_dict(ckpt),
        f"{path} (state_dict 'model.*')",
        built_from="the checkpoint's hyper-parameters",
    )
    model = module.to_zoo_model(metrics).eval()
    model.config["training"] = _training_record(ckpt)
    return _save(model, Path(out_dir), float16)


def export_folder(
    folder: str | os.PathLike,
    out_dir: str | os.PathLike,
    metrics: dict[str, Any] | None = None,
    name: str | None = None,
    float16: bool = False,
    description: str | None = None,
) -> TopoAudioModel:
    """Copy a zoo model folder, loaded strictly (its checksum verified), e.g. as float16.

    Args:
        folder: a folder with ``model.safetensors`` and ``config.json``.
        out_dir: folder to write the copy to (created; its three files are replaced). Must
            not be ``folder`` itself.
        metrics: replace the recorded metrics (default: keep the source's; metrics recorded
            on float32 weights still describe those, so re-measure a float16 copy, e.g. with
            ``topoaudio-zoo evaluate --record``).
        name: the copy's name (default: the source's).
        float16: store floating tensors as float16 (loading converts them back to float32).
        description: the copy's one-line description (default: the source's), e.g. when an
            experiment's run becomes a zoo model.

    Returns:
        The copy as saved, reloaded strictly from ``out_dir``.

    Raises:
        ValueError: naming the folder and what is wrong with it.
    """
    source, out = Path(folder), Path(out_dir)
    if out.resolve() == source.resolve():
        _fail(source, "the copy must go to another folder (OUT_DIR is the source itself)")
    model = TopoAudioModel.from_folder(source)
    if metrics is not None:
        model.config["metrics"] = metrics
    if name is not None:
        model.config["name"] = name
    if description is not None:
        model.config["description"] = description
    return _save(model, out, float16)
