"""The configuration that travels with a model's weights (``config.json``).

A plain JSON dictionary, validated and completed by :func:`normalize_config`. Everything needed
to rebuild the model and to use it correctly is in it: the cochleagram preset and overrides, the
input rate, clip length and RMS level, the architecture and its keyword arguments, the heads with
their label names, the topographic configuration, and what the weights were trained on and how
well they do (with the protocol of each number).
"""

from __future__ import annotations

import copy
import math
from typing import Any

from ..cochleagram import resolve_config

__all__ = ["CONFIG_FORMAT_VERSION", "HEAD_TYPES", "normalize_config"]

CONFIG_FORMAT_VERSION = 1
HEAD_TYPES = ("multiclass", "multilabel")
PAPER = "Al-Tahan, Deb, Feather, Murty (2025), arXiv:2509.24039"

TOP_LEVEL_KEYS = {
    "format_version",
    "name",
    "description",
    "architecture",
    "architecture_kwargs",
    "cochleagram",
    "sample_rate",
    "clip_samples",
    "rms",
    "heads",
    "topography",
    "training_data",
    "training",
    "metrics",
    "license",
    "paper",
    "library_version",
}


def _fail(key: str, message: str) -> None:
    raise ValueError(f"model config: {key}: {message}")


def _heads(heads: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(heads, dict):
        _fail("heads", f"expected a dict {{task: head}}, got {type(heads).__name__}")
    out = {}
    for task, head in heads.items():
        if isinstance(head, int):
            head = {"num_classes": head}
        if not isinstance(head, dict):
            _fail(f"heads.{task}", "expected {num_classes, type, labels} or an int")
        unknown = set(head) - {"num_classes", "type", "labels"}
        if unknown:
            _fail(f"heads.{task}", f"unknown field(s) {sorted(unknown)}")
        labels = head.get("labels")
        num_classes = head.get("num_classes", len(labels) if labels else None)
        if not isinstance(num_classes, int) or num_classes < 1:
            _fail(f"heads.{task}.num_classes", f"expected a positive int, got {num_classes!r}")
        if labels is not None and len(labels) != num_classes:
            _fail(f"heads.{task}.labels", f"{len(labels)} labels for {num_classes} classes")
        head_type = head.get("type", "multiclass")
        if head_type not in HEAD_TYPES:
            _fail(f"heads.{task}.type", f"expected one of {HEAD_TYPES}, got {head_type!r}")
        out[str(task)] = {
            "num_classes": num_classes,
            "type": head_type,
            "labels": [str(label) for label in labels] if labels is not None else None,
        }
    return out


def _topography(topo: Any) -> dict[str, Any]:
    topo = dict(topo or {})
    unknown = set(topo) - {"tau", "factor", "layers"}
    if unknown:
        _fail("topography", f"unknown field(s) {sorted(unknown)}")
    tau = float(topo.get("tau", 0.0))
    if not math.isfinite(tau) or tau < 0:
        _fail("topography.tau", f"expected τ ≥ 0, got {tau}")
    factor = topo.get("factor", 2.0)
    factor = [float(factor), float(factor)] if isinstance(factor, int | float) else factor
    if len(factor) != 2 or min(factor) < 1:
        _fail("topography.factor", f"expected φ ≥ 1 or [φ_h, φ_w], got {topo.get('factor')!r}")
    layers = topo.get("layers", "default")
    if layers != "default" and not (
        isinstance(layers, list) and all(isinstance(x, str) for x in layers)
    ):
        _fail("topography.layers", f"expected 'default' or a list of layer names, got {layers!r}")
    return {"tau": tau, "factor": [float(f) for f in factor], "layers": layers}


def normalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate a model configuration and fill in its defaults; returns a new dict.

    Required: ``architecture`` and ``heads``. ``cochleagram`` is
    ``{"preset": ..., "mode": ..., "overrides": {...}}``; ``sample_rate`` and ``clip_samples``
    are derived from it (and checked when given).

    Raises:
        ValueError: naming the offending key.
    """
    from .. import __version__
    from ..backbones import list_architectures

    if not isinstance(config, dict):
        raise ValueError(f"model config: expected a dict, got {type(config).__name__}")
    config = copy.deepcopy(config)
    unknown = set(config) - TOP_LEVEL_KEYS
    if unknown:
        _fail(", ".join(sorted(unknown)), f"unknown key(s); known keys: {sorted(TOP_LEVEL_KEYS)}")
    version = config.get("format_version", CONFIG_FORMAT_VERSION)
    if version != CONFIG_FORMAT_VERSION:
        _fail("format_version", f"{version} is not supported (this library reads 1)")
    architecture = config.get("architecture")
    if architecture not in list_architectures():
        _fail("architecture", f"unknown {architecture!r}; known: {list_architectures()}")
    coch = dict(config.get("cochleagram") or {})
    unknown = set(coch) - {"preset", "mode", "overrides"}
    if unknown:
        _fail("cochleagram", f"unknown field(s) {sorted(unknown)}")
    coch.setdefault("preset", "cochleagram_1")
    coch.setdefault("mode", "fast")
    coch["overrides"] = dict(coch.get("overrides") or {})
    front = resolve_config(coch["preset"], **coch["overrides"])
    for key, derived in (("sample_rate", front.sr), ("clip_samples", front.signal_size)):
        if config.get(key, derived) != derived:
            _fail(key, f"{config[key]} disagrees with the cochleagram configuration ({derived})")
    rms = config.get("rms", 0.1)
    if rms is not None and (not isinstance(rms, int | float) or rms <= 0):
        _fail("rms", f"expected a positive level or null, got {rms!r}")
    return {
        "format_version": CONFIG_FORMAT_VERSION,
        "name": str(config.get("name", "")),
        "description": str(config.get("description", "")),
        "architecture": architecture,
        "architecture_kwargs": dict(config.get("architecture_kwargs") or {}),
        "cochleagram": coch,
        "sample_rate": front.sr,
        "clip_samples": front.signal_size,
        "rms": rms,
        "heads": _heads(config.get("heads", {})),
        "topography": _topography(config.get("topography")),
        "training_data": config.get("training_data", {}),
        "training": config.get("training", {}),
        "metrics": config.get("metrics", {}),
        "license": str(config.get("license", "MIT")),
        "paper": str(config.get("paper", PAPER)),
        "library_version": str(config.get("library_version", __version__)),
    }
