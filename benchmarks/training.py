"""Training throughput: a Lightning step of TopoAudioModule versus a plain PyTorch loop.

Both train the same model (CochResNet18 at base width 32 by default, one 35-way head, TopoLoss
τ = 5 on every residual-block conv) from the same initial weights with the same optimiser (SGD,
momentum 0.9), on the same batches from the same ``DataLoader`` (in-memory 2-s clips at 20 kHz,
so that loading costs nothing), through the same cochleagram (211 × 390). Lightning runs
``Trainer.fit`` with logging on (a CSV logger; the module logs its losses and every layer's
topographic loss at each step, and updates its accuracy metrics) and no progress bar; the plain
loop computes the loss, steps and logs nothing. Each run times ``--steps`` steps after
``--warmup`` steps (data fetching, hooks and logging included; Trainer start-up excluded); runs
alternate between the two, ``--repeats`` times, and the medians are reported, of wall-clock time
and of the process' CPU time (less disturbed by other processes on a shared machine).
Overhead = Lightning time / plain time − 1; target ≤ 10 %.

Run: ``python benchmarks/training.py [--width 32] [--batch-size 16] [--steps 20] [--warmup 3]
[--repeats 5] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, Dataset

from topoaudio_zoo.training import TopoAudioModule
from topoaudio_zoo.training.optim import build_optimizer
from topoaudio_zoo.zoo.model import TopoAudioModel

CLIP = 40000  # 2 s at 20 kHz: the published cochleagram
CLASSES = 35
OPTIMIZER = {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
TOPOGRAPHY = {"tau": 5.0, "factor": 2.0, "layers": "default"}


class _Clips(Dataset):
    """``n`` fixed noise clips ``(CLIP,)`` with word targets, in memory."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.waveforms = 0.1 * torch.randn(n, CLIP, generator=g)
        self.words = torch.randint(0, CLASSES, (n,), generator=g)

    def __len__(self) -> int:
        return len(self.waveforms)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"waveform": self.waveforms[i], "targets": {"word": self.words[i]}, "key": str(i)}


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _elapsed(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


class _StepTimer(L.Callback):
    """Time from the end of step ``warmup`` to the end of the last step."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.elapsed: tuple[float, float] | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.warmup - 1:
            self.start = _clocks()
        elif batch_idx == trainer.max_steps - 1:
            self.elapsed = _elapsed(self.start)


def _module_kwargs(width: int) -> dict[str, Any]:
    return {
        "architecture": "cochresnet18",
        "architecture_kwargs": {"width": width},
        "tasks": {"word": {"num_classes": CLASSES}},
        "topography": TOPOGRAPHY,
        "optimizer": OPTIMIZER,
    }


def run_lightning(loader: DataLoader, width: int, warmup: int, steps: int) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of ``steps`` Lightning training steps after ``warmup``."""
    torch.manual_seed(0)
    module = TopoAudioModule(**_module_kwargs(width))
    timer = _StepTimer(warmup)
    with tempfile.TemporaryDirectory() as logs:
        trainer = L.Trainer(
            accelerator="cpu",
            devices=1,
            max_steps=warmup + steps,
            logger=CSVLogger(logs),
            log_every_n_steps=10,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            callbacks=[timer],
        )
        trainer.fit(module, train_dataloaders=loader)
    return timer.elapsed


def run_plain(loader: DataLoader, width: int, warmup: int, steps: int) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of ``steps`` plain PyTorch training steps after ``warmup``."""
    torch.manual_seed(0)
    config = TopoAudioModule(**_module_kwargs(width)).model_config()
    model = TopoAudioModel(config).train()
    topo = model.topographic_loss()
    optimizer = build_optimizer(OPTIMIZER, model.parameters())
    for index, batch in enumerate(loader):
        if index == warmup:
            start = _clocks()
        with torch.no_grad():
            cochleagram = model.cochleagram(batch["waveform"])
        logits = model.forward_cochleagram(cochleagram)
        loss = F.cross_entropy(logits["word"].float(), batch["targets"]["word"]) + topo()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if index == warmup + steps - 1:
            return _elapsed(start)
    raise ValueError("the loader ran out of batches")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=32, help="CochResNet18 base width")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each, interleaved")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    args = parser.parse_args()
    if min(args.width, args.batch_size, args.steps, args.warmup, args.repeats, args.threads) < 1:
        parser.error("every option must be a positive integer")

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    n_batches = args.warmup + args.steps
    loader = DataLoader(_Clips(args.batch_size * n_batches), batch_size=args.batch_size)
    print(
        f"cochresnet18 width {args.width}, batch {args.batch_size} × 2 s @ 20 kHz (cochleagram "
        f"211 × 390), TopoLoss τ = {TOPOGRAPHY['tau']}, SGD; {args.steps} timed steps after "
        f"{args.warmup}, {args.repeats} interleaved repeats; torch {torch.__version__}, "
        f"lightning {L.__version__}, {args.threads} threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    runs = {"lightning": run_lightning, "plain": run_plain}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(run(loader, args.width, args.warmup, args.steps))
    clips = args.steps * args.batch_size
    median = {
        name: (statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts))
        for name, ts in times.items()
    }
    print(f"{'':10s} {'clips/s (wall)':>15s} {'clips/s (CPU)':>15s}   wall times of the runs (s)")
    for name, (wall, cpu) in median.items():
        runs_s = " ".join(f"{t[0]:.2f}" for t in times[name])
        print(f"{name:10s} {clips / wall:15.1f} {clips / cpu:15.1f}   {runs_s}")
    wall_overhead = median["lightning"][0] / median["plain"][0] - 1
    cpu_overhead = median["lightning"][1] / median["plain"][1] - 1
    print(
        f"Lightning overhead: {100 * wall_overhead:+.1f} % wall, {100 * cpu_overhead:+.1f} % CPU "
        f"(target ≤ 10 %); load average {os.getloadavg()[0]:.2f} at end"
    )


if __name__ == "__main__":
    main()
