"""Validation of a training configuration, its data and its checkpoints, before any step runs.

Each check raises ``ValueError`` naming the offending argument (as written in a YAML recipe:
``model.tasks.word.weight``, ``data.clip_samples``, ...) and what would be accepted.
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypedDict

import torch

from ..backbones import list_architectures
from ..cochleagram import resolve_config

__all__ = [
    "TASK_FIELDS",
    "TASK_TYPES",
    "TaskSpec",
    "check_architecture",
    "check_checkpoint_state",
    "check_data_format",
    "check_tasks",
    "check_topography",
    "tasks_from_data",
]

TASK_TYPES = ("multiclass", "multilabel")


class TaskSpec(TypedDict, total=False):
    """One task of ``model.tasks``: loss weight, head type, classes (filled from the data).

    Typed (not ``dict[str, Any]``) so that LightningCLI keeps class names such as ``"no"``,
    ``"yes"``, ``"on"`` or ``"off"`` strings when it dumps and re-reads the configuration (on
    resume it re-parses the checkpoint's hyper-parameters; YAML 1.1 reads those as booleans).
    """

    weight: float
    type: Literal["multiclass", "multilabel"]
    num_classes: int
    labels: list[str] | None


TASK_FIELDS = tuple(TaskSpec.__annotations__)


def check_architecture(architecture: Any) -> None:
    """``architecture`` must be a registered backbone name."""
    known = list_architectures()
    if architecture not in known:
        raise ValueError(f"architecture: unknown {architecture!r}; known: {known}")


def check_tasks(tasks: dict[str, dict[str, Any]] | None) -> None:
    """Each task spec may hold only ``TASK_FIELDS``, with a weight ≥ 0 and a known type."""
    if tasks is None:
        return
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(f"tasks: expected {{task: {{weight, type, ...}}}} or null, got {tasks!r}")
    for task, spec in tasks.items():
        if not isinstance(spec, dict):
            raise ValueError(f"tasks.{task}: expected a dict of {TASK_FIELDS}, got {spec!r}")
        unknown = sorted(set(spec) - set(TASK_FIELDS))
        if unknown:
            raise ValueError(f"tasks.{task}: unknown field(s) {unknown}; allowed: {TASK_FIELDS}")
        weight = spec.get("weight", 1.0)
        if not _is_number(weight) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"tasks.{task}.weight: expected a finite number ≥ 0, got {weight!r}")
        if spec.get("type", "multiclass") not in TASK_TYPES:
            raise ValueError(
                f"tasks.{task}.type: expected one of {TASK_TYPES}, got {spec['type']!r}"
            )


def tasks_from_data(
    tasks: dict[str, dict[str, Any]] | None,
    data_tasks: dict[str, list[str]],
    data_types: dict[str, str],
) -> dict[str, dict[str, Any]]:
    """``tasks`` with each head's classes and type filled from the data, checked against it.

    Args:
        tasks: ``model.tasks`` (``None``: every task of the data, weight 1).
        data_tasks: the DataModule's ``{task: [class names]}``.
        data_types: the DataModule's ``{task: "multiclass" | "multilabel"}`` (missing:
            the task's own type, default multiclass).

    Returns:
        ``{task: spec}`` with ``num_classes``, ``labels`` and ``type`` set from the data.

    Raises:
        ValueError: a task the data does not provide, or a class count, class names or type
            that differ from the data's.
    """
    wanted = tasks or {task: {} for task in data_tasks}
    unknown = sorted(set(wanted) - set(data_tasks))
    if unknown:
        raise ValueError(
            f"tasks: {unknown} are not targets of the data; it provides {sorted(data_tasks)}"
        )
    filled = {}
    for task, spec in wanted.items():
        spec = dict(spec)
        labels = list(data_tasks[task])
        if spec.get("num_classes", len(labels)) != len(labels):
            raise ValueError(
                f"tasks.{task}.num_classes: {spec['num_classes']} does not match the data "
                f"({len(labels)} classes)"
            )
        if spec.get("labels") not in (None, labels):
            raise ValueError(f"tasks.{task}.labels: differ from the data's class names")
        data_type = data_types.get(task, spec.get("type", "multiclass"))
        if spec.get("type", data_type) != data_type:
            raise ValueError(f"tasks.{task}.type: {spec['type']} but the data is {data_type}")
        spec.update(num_classes=len(labels), labels=labels, type=data_type)
        filled[task] = spec
    return filled


def check_topography(topography: dict[str, Any] | None) -> None:
    """τ (``topography.tau``) must be a finite number ≥ 0 (0: no topographic term)."""
    tau = dict(topography or {}).get("tau", 0.0)
    if not _is_number(tau) or not math.isfinite(tau) or tau < 0:
        raise ValueError(f"topography.tau: expected a finite τ ≥ 0 (0 disables it), got {tau!r}")


def check_data_format(cochleagram: dict[str, Any] | None, rms: float, datamodule: Any) -> None:
    """The DataModule's ``sr``, ``clip_samples`` and ``rms`` must be the model's.

    The cochleagram fixes the input rate (``sr``, Hz) and length (``signal_size``, samples);
    ``rms`` is the level the exported model normalises its inputs to. Attributes the
    DataModule does not have are not checked.
    """
    coch = dict(cochleagram or {})
    front = resolve_config(coch.get("preset", "cochleagram_1"), **dict(coch.get("overrides") or {}))
    expected = {
        "sr": (front.sr, "the cochleagram's sr (model.cochleagram.overrides.sr)"),
        "clip_samples": (
            front.signal_size,
            "the cochleagram's signal_size (model.cochleagram.overrides.signal_size)",
        ),
        "rms": (rms, "model.rms"),
    }
    for name, (wanted, source) in expected.items():
        given = getattr(datamodule, name, None)
        if given is not None and wanted is not None and given != wanted:
            raise ValueError(
                f"data.{name}: the DataModule gives {given} but the model expects {wanted} "
                f"({source}); make them equal"
            )


def check_checkpoint_state(
    saved: dict[str, torch.Tensor], own: dict[str, torch.Tensor], source: str
) -> None:
    """A checkpoint's ``state_dict`` must have exactly this model's keys and shapes."""
    missing = sorted(set(own) - set(saved))
    unexpected = sorted(set(saved) - set(own))
    mismatched = sorted(k for k in set(own) & set(saved) if own[k].shape != saved[k].shape)
    if missing or unexpected or mismatched:
        shapes = [f"{k}: {tuple(saved[k].shape)} vs {tuple(own[k].shape)}" for k in mismatched]
        raise ValueError(
            f"{source}: its weights do not fit this model (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}, shape mismatch {shapes[:5]}); resume with the configuration it "
            "was trained with"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
