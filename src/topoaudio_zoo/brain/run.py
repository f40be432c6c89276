"""Brain predictivity of models on one dataset, end to end: sounds → features → protocol."""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from ..zoo import create_model
from .evaluate import evaluate_features
from .features import COCHLEAGRAM, model_features
from .nh2015 import load_nh2015
from .ridge import RELATIVE_ALPHAS
from .targets import BrainTargets
from .tuckute import load_tuckute

__all__ = ["DATASETS", "PROTOCOL", "UNTRAINED", "brain_predictivity", "load_model", "load_targets"]

UNTRAINED = "untrained:"

DATASETS = ("nh2015-components", "nh2015", "b2021")
PROTOCOL = (
    "Tuckute et al. (2023): features averaged over time (channels x frequency kept), "
    "standardised with training statistics; ridge with the penalty of least exact "
    "leave-one-out error on the training sounds (grid: 10^-4 ... 10^6 times the mean "
    "eigenvalue of the training Gram matrix); 10 seeded splits of 83 training / 82 test "
    "sounds; R² = squared Pearson r on the test sounds, negative r as 0; voxels "
    "Spearman-Brown noise-corrected (floors 0.182, 0.183); best layer chosen on 5 splits and "
    "scored on the other 5, 10 times."
)


def load_targets(
    dataset: str,
    data_dir: str | os.PathLike | None = None,
    neural_dir: str | os.PathLike | None = None,
    download: bool = False,
    roi_pickle: bool = False,
    verify: bool = True,
) -> BrainTargets:
    """The brain responses of ``dataset`` (one of :data:`DATASETS`).

    ``nh2015-components`` come from the NH2015 repository (``data_dir``, see
    :func:`~topoaudio_zoo.brain.load_nh2015`); ``nh2015`` and ``b2021`` voxels from the Tuckute
    et al. (2023) release in ``neural_dir`` (see :func:`~topoaudio_zoo.brain.load_tuckute`).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset: unknown {dataset!r}; expected one of {list(DATASETS)}")
    if dataset == "nh2015-components":
        data = load_nh2015(data_dir, download=download, verify=verify, progress=False)
        return BrainTargets(dataset, data.names, data.components, data.component_names)
    if neural_dir is None:
        raise ValueError(f"neural_dir: {dataset} voxels need the Tuckute et al. 2023 data folder")
    return load_tuckute(dataset, neural_dir, download=download, roi_pickle=roi_pickle)


def load_model(spec: str | nn.Module, seed: int = 0) -> str | nn.Module:
    """``untrained:NAME`` → NAME's architecture (registry name or architecture) with random
    weights drawn with ``seed``; anything else is returned as is (loaded when its features are
    extracted)."""
    if isinstance(spec, str) and spec.startswith(UNTRAINED):
        torch.manual_seed(seed)
        return create_model(spec[len(UNTRAINED) :])
    return spec


def brain_predictivity(
    models: Sequence[str | nn.Module],
    dataset: str = "nh2015-components",
    layers: Sequence[str] | None = None,
    data_dir: str | os.PathLike | None = None,
    neural_dir: str | os.PathLike | None = None,
    download: bool = False,
    roi_pickle: bool = False,
    anchor: bool = True,
    verify: bool = True,
    n_splits: int = 10,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Score every layer of every model against ``dataset`` under the Tuckute et al. protocol.

    Args:
        models: registry names, ``hf-hub:`` ids, folders, ``untrained:NAME`` (NAME's
            architecture with random weights, seeded by ``seed``) or ``nn.Module`` s (named
            ``module0``, … in the results; give ``layers`` as module paths).
        dataset: one of :data:`DATASETS`.
        layers: read-outs of every model (default: each model's read-out stages).
        data_dir: the NH2015 sounds (and components), see
            :func:`~topoaudio_zoo.brain.load_nh2015`.
        neural_dir: the Tuckute et al. (2023) release, for voxel datasets.
        download: fetch what is missing.
        roi_pickle: read the ROI pickle (runs code from the file; see
            :mod:`~topoaudio_zoo.brain.tuckute`).
        anchor: also score the time-averaged cochleagram (model ``"cochleagram"``).
        verify: check the NH2015 files against their published SHA-256 (``False`` for a
            folder of your own in the same layout).

    Returns:
        ``{"dataset", "protocol", "models": {name: evaluate_features(...)}}``.
    """
    targets = load_targets(dataset, data_dir, neural_dir, download, roi_pickle, verify)
    sounds = load_nh2015(data_dir, download=download, verify=verify, progress=False)
    waveforms = sounds.waveforms(progress=progress)
    entries = [(COCHLEAGRAM, COCHLEAGRAM)] if anchor else []
    for i, model in enumerate(models):
        entries.append((model if isinstance(model, str) else f"module{i}", model))
    results = {}
    for name, model in tqdm(entries, desc="models", unit="model", disable=not progress):
        features = model_features(
            load_model(model, seed),
            waveforms,
            None if model == COCHLEAGRAM else layers,
            progress=progress,
        )
        results[name] = evaluate_features(
            features, sounds.names, targets, n_splits=n_splits, seed=seed, progress=progress
        )
    return {
        "dataset": dataset,
        "protocol": {
            "description": PROTOCOL,
            "splits": n_splits,
            "seed": seed,
            "relative_alphas": [float(a) for a in RELATIVE_ALPHAS],
        },
        "models": results,
    }
