"""Optimisers and learning-rate schedules from plain config dicts.

``optimizer``: ``{"name": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}`` (the
published CochResNet50 recipe) or ``{"name": "adamw", "lr": 1e-3, "weight_decay": 0.05}``.
``scheduler``: ``{"name": "step", "step_size": 50, "gamma": 0.1}`` (epochs: ÷10 every 50, as
published), ``{"name": "cosine", "warmup_steps": 500, "min_lr_ratio": 0.0}`` (per step, linear
warm-up then cosine decay to ``min_lr_ratio · lr``), or ``{"name": "none"}``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["build_optimizer", "build_scheduler", "check_optimization", "layer_lr_groups"]

OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3, "weight_decay": 0.05}),
}
SCHEDULERS = {
    "none": {},
    "step": {"step_size": 50, "gamma": 0.1},
    "cosine": {"warmup_steps": 0, "min_lr_ratio": 0.0},
}


def _split(spec: dict[str, Any] | None, default: str, known: dict, what: str):
    spec = dict(spec or {})
    name = spec.pop("name", default)
    if name not in known:
        raise ValueError(f"{what}.name: unknown {name!r}; known: {sorted(known)}")
    return name, spec


def layer_lr_groups(
    named_parameters: Iterable[tuple[str, torch.nn.Parameter]],
    layer_lr: dict[str, float] | None,
    base_lr: float,
) -> list[dict[str, Any]]:
    """Optimiser param groups, one per learning rate: ``base_lr`` times the multiplier of the
    longest ``layer_lr`` prefix a parameter's name starts with (1 when none does).

    Parameters that do not require gradients are left out (a frozen backbone).

    Raises:
        ValueError: a ``layer_lr`` prefix that starts no parameter's name.
    """
    prefixes = dict(layer_lr or {})
    named = list(named_parameters)
    unused = [p for p in prefixes if not any(name.startswith(p) for name, _ in named)]
    if unused:
        raise ValueError(f"layer_lr: no parameter starts with {unused}")
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for name, param in named:
        if not param.requires_grad:
            continue
        matches = [p for p in prefixes if name.startswith(p)]
        scale = prefixes[max(matches, key=len)] if matches else 1.0
        groups.setdefault(scale, []).append(param)
    return [{"params": params, "lr": base_lr * scale} for scale, params in groups.items()]


def build_optimizer(
    spec: dict[str, Any] | None, params: Iterable[torch.nn.Parameter] | list[dict[str, Any]]
) -> torch.optim.Optimizer:
    """An optimiser from ``spec`` over ``params`` (parameters or param-group dicts)."""
    name, spec = _split(spec, "sgd", OPTIMIZERS, "optimizer")
    cls, defaults = OPTIMIZERS[name]
    allowed = set(inspect.signature(cls.__init__).parameters) - {"self", "params"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"optimizer: {name} takes no {unknown}; allowed: {sorted(allowed)}")
    kwargs = {**defaults, **spec}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    if not kwargs["lr"] > 0:
        raise ValueError(f"optimizer.lr: expected > 0, got {kwargs['lr']}")
    return cls(params, **kwargs)


def build_scheduler(
    spec: dict[str, Any] | None,
    optimizer: torch.optim.Optimizer,
    total_steps: int | Callable[[], int],
) -> dict[str, Any] | None:
    """A Lightning ``lr_scheduler`` dict for ``optimizer`` (``None`` for no schedule).

    Args:
        spec: scheduler config (see module docstring).
        optimizer: the optimiser to schedule.
        total_steps: optimiser steps of the whole run (cosine decays over them), or a function
            returning them, called once, when the decay first needs it (after the first step).
            A function lets the LightningModule ask ``trainer.estimated_stepping_batches`` only
            once training runs: asking it in ``configure_optimizers`` builds the training
            loader before a resumed checkpoint's loader state is restored, and Lightning (2.6)
            then never restores it (Lightning-AI/pytorch-lightning#20550).
    """
    name, spec = _split(spec, "none", SCHEDULERS, "scheduler")
    unknown = sorted(set(spec) - set(SCHEDULERS[name]))
    if unknown:
        raise ValueError(
            f"scheduler: {name} takes no {unknown}; allowed: {sorted(SCHEDULERS[name])}"
        )
    kwargs = {**SCHEDULERS[name], **spec}
    if name == "none":
        return None
    if name == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, **kwargs)
        return {"scheduler": scheduler, "interval": "epoch"}
    warmup, floor = int(kwargs["warmup_steps"]), float(kwargs["min_lr_ratio"])
    total: list[int] = [] if callable(total_steps) else [int(total_steps)]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if step == warmup:
            return 1.0  # the top of the cosine, whatever the run's length
        if not total:
            total.append(int(total_steps()))
        progress = min(1.0, (step - warmup) / max(1, total[0] - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"scheduler": scheduler, "interval": "step"}


def check_optimization(optimizer: dict[str, Any] | None, scheduler: dict[str, Any] | None) -> None:
    """Raise ``ValueError`` now (not at the first step) if either config is invalid."""
    probe = build_optimizer(optimizer, [torch.nn.Parameter(torch.zeros(1))])
    build_scheduler(scheduler, probe, total_steps=1)
