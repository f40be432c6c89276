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

__all__ = ["CONFIG_FORMAT_VERSION", "HEAD_TYPES", "SIZE_BOUNDS", "normalize_config"]

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
    "weights_sha256",
}

# Sane ranges (inclusive) of the size options of the architectures, of a head's classes and of
# the sheet down-sampling factor φ: far beyond every published model (CochResNet50 width 64,
# AST-B 768 × 12 with 12 heads; 527 AudioSet classes), far below what fills memory.
SIZE_BOUNDS = {
    "architecture_kwargs.width": (1, 1024),
    "architecture_kwargs.embed_dim": (1, 8192),
    "architecture_kwargs.depth": (1, 128),
    "architecture_kwargs.num_heads": (1, 256),
    "architecture_kwargs.mlp_ratio": (0.0, 64.0),
    "architecture_kwargs.patch_size": (1, 512),
    "architecture_kwargs.patch_stride": (1, 512),
    "heads.num_classes": (1, 100_000),
    "topography.factor": (1.0, 64.0),
}


def _fail(key: str, message: str) -> None:
    raise ValueError(f"model config: {key}: {message}")


def _check_bounds(key: str, value: Any, bound: str | None = None) -> None:
    """Fail unless ``value`` is a number within ``SIZE_BOUNDS[bound or key]``."""
    low, high = SIZE_BOUNDS[bound or key]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not low <= value <= high:
        _fail(key, f"expected a number in [{low}, {high}], got {value!r}")


def _architecture_kwargs(kwargs: Any) -> dict[str, Any]:
    if not isinstance(kwargs, dict):
        _fail("architecture_kwargs", f"expected a dict, got {type(kwargs).__name__}")
    for name, value in kwargs.items():
        key = f"architecture_kwargs.{name}"
        if key in SIZE_BOUNDS and value is not None:
            _check_bounds(key, value)
    return dict(kwargs)


def _weights_sha256(digest: Any) -> str | None:
    if digest is None:
        return None
    valid = isinstance(digest, str) and len(digest) == 64
    if not valid or any(c not in "0123456789abcdef" for c in digest.lower()):
        _fail("weights_sha256", f"expected 64 hex digits, got {digest!r}")
    return digest.lower()


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
        _check_bounds(f"heads.{task}.num_classes", num_classes, "heads.num_classes")
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
    if not isinstance(factor, list | tuple) or len(factor) != 2:
        _fail("topography.factor", f"expected φ ≥ 1 or [φ_h, φ_w], got {topo.get('factor')!r}")
    for value in factor:
        _check_bounds("topography.factor", value)
    layers = topo.get("layers", "default")
    if layers != "default" and not (
        isinstance(layers, list) and all(isinstance(x, str) for x in layers)
    ):
        _fail("topography.layers", f"expected 'default' or a list of layer names, got {layers!r}")
    return {"tau": tau, "factor": [float(f) for f in factor], "layers": layers}


def normalize_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate a model configuration and fill in its defaults; returns a new dict.

    Required: ``architecture`` and ``heads``. Sizes (``architecture_kwargs`` widths, depths,
    heads' classes, the sheet factor φ) must lie within :data:`SIZE_BOUNDS`. ``weights_sha256``
    (written by ``save_pretrained``) is the SHA-256 of ``model.safetensors``. ``cochleagram`` is
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
        "architecture_kwargs": _architecture_kwargs(config.get("architecture_kwargs") or {}),
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
        "weights_sha256": _weights_sha256(config.get("weights_sha256")),
    }
