"""Tiny models, trainers, callbacks and a synthetic DataModule for the training tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from torch.utils.data import DataLoader, Dataset

import topoaudio_zoo
from topoaudio_zoo.training import IGNORE_INDEX

# Short clips keep the cochleagram cheap: 4000 samples = 0.2 s at 20 kHz → 30 frames.
CLIP = 4000
COCHLEAGRAM = {"preset": "cochleagram_1", "mode": "fast", "overrides": {"signal_size": CLIP}}


def tiny_model_kwargs(**overrides: Any) -> dict[str, Any]:
    """``TopoAudioModule`` arguments of a CochResNet18 at base width 4 on 0.2-s clips."""
    kwargs = {
        "architecture": "cochresnet18",
        "architecture_kwargs": {"width": 4},
        "cochleagram": COCHLEAGRAM,
        "topography": {"tau": 0.0, "factor": 2.0},
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4},
    }
    return kwargs | overrides


def quiet_trainer(**overrides: Any) -> L.Trainer:
    """A CPU trainer without logger, checkpoints, progress bar or validation (unless asked)."""
    kwargs = {
        "accelerator": "cpu",
        "devices": 1,
        "logger": False,
        "enable_checkpointing": False,
        "enable_progress_bar": False,
        "enable_model_summary": False,
        "limit_val_batches": 0,
        "num_sanity_val_steps": 0,
    }
    return L.Trainer(**(kwargs | overrides))


class BatchCounter(L.Callback):
    """Counts the training batches that started (a step that ran must have started)."""

    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.batches += 1


class LearningRates(L.Callback):
    """The learning rate of every parameter group at the start of each training batch."""

    def __init__(self) -> None:
        self.lrs: list[list[float]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.lrs.append([group["lr"] for group in trainer.optimizers[0].param_groups])


class _ToyClips(Dataset):
    """Noise clips with a 7-class target (some -100) and 3 multi-hot labels, fixed by seed."""

    def __init__(self, n: int, seed: int, clip: int = CLIP) -> None:
        g = torch.Generator().manual_seed(seed)
        self.waveforms = 0.1 * torch.randn(n, clip, generator=g)
        self.pitch = torch.randint(0, 7, (n,), generator=g)
        self.pitch[::5] = IGNORE_INDEX
        self.tags = (torch.rand(n, 3, generator=g) < 0.5).float()
        self.tags[0], self.tags[1] = 1.0, 0.0  # every label has positives and negatives

    def __len__(self) -> int:
        return len(self.waveforms)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {
            "waveform": self.waveforms[i],
            "targets": {"pitch": self.pitch[i], "tags": self.tags[i]},
            "key": f"toy{i}",
        }


class ToyDataModule(L.LightningDataModule):
    """Synthetic multi-task data: ``pitch`` (7-way, with ignored targets), ``tags`` (3 labels,
    multi-label). Waveforms ``(batch, clip)`` at 20 kHz."""

    def __init__(self, n: int = 24, batch_size: int = 8, clip: int = CLIP) -> None:
        super().__init__()
        self.sr, self.clip_samples, self.rms = 20000, clip, 0.1
        self.tasks = {"pitch": [f"p{i}" for i in range(7)], "tags": ["a", "b", "c"]}
        self.task_types = {"pitch": "multiclass", "tags": "multilabel"}
        self.n = n
        self.batch_size = batch_size

    def setup(self, stage: str) -> None:
        self.train_set = _ToyClips(self.n, seed=1, clip=self.clip_samples)
        self.val_set = _ToyClips(self.n, seed=2, clip=self.clip_samples)

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train_set, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(self.val_set, batch_size=self.batch_size)


def fit_config(speech_root: Path, callbacks: list[dict[str, Any]], **trainer: Any) -> dict:
    """A ``topoaudio-zoo fit`` recipe: the tiny model (τ = 5, SGD with momentum and a cosine
    schedule) on 0.2-s Speech Commands clips in batches of 4, seeded, deterministic."""
    model = tiny_model_kwargs(
        topography={"tau": 5.0, "factor": 2.0},
        scheduler={"name": "cosine", "warmup_steps": 2, "min_lr_ratio": 0.0},
    )
    return {
        "seed_everything": 0,
        "trainer": {
            "accelerator": "cpu",
            "devices": 1,
            "logger": False,
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "limit_val_batches": 0,
            "num_sanity_val_steps": 0,
            "deterministic": True,
            "callbacks": callbacks,
            **trainer,
        },
        "model": model,
        "data": {
            "class_path": "topoaudio_zoo.data.SpeechCommandsDataModule",
            "init_args": {"root": str(speech_root), "clip_samples": CLIP, "batch_size": 4},
        },
    }


def run_fit(config: dict, config_path: Path, *args: str, timeout: float = 300):
    """Run ``python -m topoaudio_zoo.cli fit --config config_path *args`` in a subprocess that
    imports this checkout's package and these test helpers, with one thread per process, in
    ``config_path``'s folder (where LightningCLI writes its ``config.yaml``)."""
    config_path.write_text(yaml.safe_dump(config))
    package_src = Path(topoaudio_zoo.__file__).resolve().parents[1]
    tests = Path(__file__).resolve().parent
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(package_src), str(tests)]),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    command = [sys.executable, "-m", "topoaudio_zoo.cli", "fit", "--config", str(config_path)]
    return subprocess.run(
        [*command, *args],
        cwd=config_path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
