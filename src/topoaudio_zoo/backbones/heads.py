"""Classification heads: parsing the ``heads`` argument and building the linear read-outs."""

from __future__ import annotations

from torch import nn

__all__ = ["SINGLE_HEAD_NAME", "HeadsSpec", "build_heads", "parse_heads"]

HeadsSpec = int | dict[str, int] | None
"""``None`` (no head), an ``int`` (one head, plain logits) or ``{task: n_classes}``."""

SINGLE_HEAD_NAME = "logits"
"""Key of the only head when ``heads`` is given as an ``int``."""


def _check_size(task: str, n_classes: object) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(
            f"heads: the number of classes of head {task!r} must be a positive int, "
            f"got {n_classes!r}"
        )
    return n_classes


def parse_heads(heads: HeadsSpec) -> tuple[dict[str, int], bool]:
    """Normalise a heads specification.

    Returns ``(sizes, single)``: ``sizes`` maps task name → number of classes (empty for
    ``None`` or ``{}``); ``single`` is true when ``heads`` was an ``int``, in which case the
    backbone returns a plain logits tensor instead of a dict.
    """
    if heads is None:
        return {}, False
    if isinstance(heads, int) and not isinstance(heads, bool):
        return {SINGLE_HEAD_NAME: _check_size(SINGLE_HEAD_NAME, heads)}, True
    if isinstance(heads, dict):
        sizes: dict[str, int] = {}
        for task, n_classes in heads.items():
            if not isinstance(task, str) or not task or "." in task:
                raise ValueError(
                    f"heads: task names must be non-empty strings without '.', got {task!r}"
                )
            sizes[task] = _check_size(task, n_classes)
        return sizes, False
    raise ValueError(
        f"heads must be None, a positive int or a dict {{task: n_classes}}, got {heads!r}"
    )


def build_heads(num_features: int, sizes: dict[str, int]) -> nn.ModuleDict:
    """One ``nn.Linear(num_features, n_classes)`` per task, in the order of ``sizes``."""
    return nn.ModuleDict({task: nn.Linear(num_features, n) for task, n in sizes.items()})
