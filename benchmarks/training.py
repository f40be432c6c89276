"""Training throughput: a Lightning step versus a plain PyTorch loop, and the CPU recipes.

Two comparisons, each side by side in one run.

**Lightning overhead** (default): a Lightning step of TopoAudioModule versus a plain PyTorch
loop.

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

**Recipes** (``--recipes``): clips/s of Lightning training steps (``Trainer.fit``, the same
module, data and logging as above) under each recipe, against today's float32 recipe:
``fp32`` (``precision="32-true"``, today's), ``fp32+cl`` (``channels_last=True``),
``fp32+compile`` (the backbone's forward through ``torch.compile``), ``bf16``
(``precision="bf16-mixed"``: the backbone under bf16 autocast; the cochleagram, losses,
TopoLoss, weights and optimiser state stay float32), ``bf16+cl`` (both: the new recipe),
``bf16+cl+compile`` and ``+malloc`` variants
(glibc ``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` raised, so that large activation
buffers are reused instead of mapped and unmapped at every step). Each run is a fresh process
(the allocator settings are read at start-up); runs alternate between recipes ``--repeats``
times; medians of wall and CPU time are reported, with the cochleagram's share of a step (its
forward alone on the same batch, timed in the same process) and whether this CPU runs bf16
natively (oneDNN bf16: AVX-512 BF16 or AMX; without it bf16 is emulated and slow).

Run: ``python benchmarks/training.py --recipes [fp32 bf16+cl ...] [--width 64]
[--batch-size 32] [--steps 5] [--warmup 2] [--repeats 2]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
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
from topoaudio_zoo.training.precision import bf16_is_native
from topoaudio_zoo.zoo.model import TopoAudioModel

CLIP = 40000  # 2 s at 20 kHz: the published cochleagram
CLASSES = 35
OPTIMIZER = {"name": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}
TOPOGRAPHY = {"tau": 5.0, "factor": 2.0, "layers": "default"}
MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31)}
RECIPES = {  # name: (Trainer precision, channels_last, torch.compile, allocator settings)
    "fp32": ("32-true", False, False, False),
    "fp32+cl": ("32-true", True, False, False),
    "fp32+malloc": ("32-true", False, False, True),
    "fp32+compile": ("32-true", False, True, False),
    "bf16": ("bf16-mixed", False, False, False),
    "bf16+cl": ("bf16-mixed", True, False, False),
    "bf16+cl+compile": ("bf16-mixed", True, True, False),
    "bf16+cl+malloc": ("bf16-mixed", True, False, True),
}


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


def _module_kwargs(width: int, channels_last: bool = False) -> dict[str, Any]:
    return {
        "channels_last": channels_last,
        "architecture": "cochresnet18",
        "architecture_kwargs": {"width": width},
        "tasks": {"word": {"num_classes": CLASSES}},
        "topography": TOPOGRAPHY,
        "optimizer": OPTIMIZER,
    }


class _CompileBackbone(L.Callback):
    """Compile the backbone's forward in place (state-dict keys and TopoLoss layers unchanged)."""

    def on_fit_start(self, trainer, pl_module) -> None:
        pl_module.model.backbone.compile()


def run_lightning(
    loader: DataLoader,
    width: int,
    warmup: int,
    steps: int,
    precision: str = "32-true",
    channels_last: bool = False,
    compile_backbone: bool = False,
) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of ``steps`` Lightning training steps after ``warmup``."""
    torch.manual_seed(0)
    module = TopoAudioModule(**_module_kwargs(width, channels_last))
    timer = _StepTimer(warmup)
    callbacks = [timer, _CompileBackbone()] if compile_backbone else [timer]
    with tempfile.TemporaryDirectory() as logs:
        trainer = L.Trainer(
            accelerator="cpu",
            devices=1,
            precision=precision,
            max_steps=warmup + steps,
            logger=CSVLogger(logs),
            log_every_n_steps=10,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
            callbacks=callbacks,
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


def _cochleagram_seconds(batch: torch.Tensor, repeats: int = 3) -> tuple[float, float]:
    """Median ``(wall, cpu)`` seconds of the model's cochleagram (``fast``) on ``batch``,
    without gradients, after one untimed call."""
    front = TopoAudioModel(TopoAudioModule(**_module_kwargs(8)).model_config()).cochleagram
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            start = _clocks()
            front(batch)
            times.append(_elapsed(start))
    return statistics.median(t[0] for t in times[1:]), statistics.median(t[1] for t in times[1:])


def run_recipe(args: argparse.Namespace) -> None:
    """One recipe's run in this process: prints its step and cochleagram seconds as JSON."""
    precision, channels_last, compile_backbone, _ = RECIPES[args.run_recipe]
    loader = DataLoader(
        _Clips(args.batch_size * (args.warmup + args.steps)), batch_size=args.batch_size
    )
    wall, cpu = run_lightning(
        loader, args.width, args.warmup, args.steps, precision, channels_last, compile_backbone
    )
    cochleagram_wall, cochleagram_cpu = _cochleagram_seconds(next(iter(loader))["waveform"])
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "cochleagram_wall": cochleagram_wall,
                "cochleagram_cpu": cochleagram_cpu,
            }
        )
    )


def compare_recipes(args: argparse.Namespace) -> None:
    """Run each recipe in a fresh process, interleaved, and print them side by side."""
    names = args.recipes or list(RECIPES)
    print(
        f"recipes: cochresnet18 width {args.width}, batch {args.batch_size} × 2 s @ 20 kHz, "
        f"TopoLoss τ = {TOPOGRAPHY['tau']}, SGD, Lightning; {args.steps} timed steps after "
        f"{args.warmup}, {args.repeats} interleaved repeats, each a fresh process; torch "
        f"{torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, bf16 "
        f"native: {bf16_is_native()}, {args.threads} threads, {os.cpu_count()} CPUs, load "
        f"average {os.getloadavg()[0]:.2f} at start",
        flush=True,
    )
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    options = ["--width", str(args.width), "--batch-size", str(args.batch_size)]
    options += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
    options += ["--threads", str(args.threads)]
    for _ in range(args.repeats):
        for name in names:
            env = {**os.environ, **(MALLOC if RECIPES[name][3] else {})}
            result = subprocess.run(
                [sys.executable, __file__, "--run-recipe", name, *options],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"recipe {name} failed:\n{result.stderr[-3000:]}")
            runs[name].append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(f"  {name}: {runs[name][-1]}", flush=True)
    clips = args.steps * args.batch_size
    median = {
        name: {key: statistics.median(run[key] for run in rs) for key in rs[0]}
        for name, rs in runs.items()
    }
    base = median.get("fp32")
    print(
        f"{'recipe':16s} {'clips/s (wall)':>15s} {'clips/s (CPU)':>14s} {'× fp32 (wall)':>14s} "
        f"{'× fp32 (CPU)':>13s} {'cochleagram share (wall / CPU)':>31s}   wall times of runs (s)"
    )
    for name, m in median.items():
        speedup_wall = f"{base['wall'] / m['wall']:.2f}×" if base else "—"
        speedup_cpu = f"{base['cpu'] / m['cpu']:.2f}×" if base else "—"
        share_wall = m["cochleagram_wall"] / (m["wall"] / args.steps)
        share_cpu = m["cochleagram_cpu"] / (m["cpu"] / args.steps)
        shares = f"{100 * share_wall:.1f} % / {100 * share_cpu:.1f} %"
        walls = " ".join(f"{run['wall']:.1f}" for run in runs[name])
        print(
            f"{name:16s} {clips / m['wall']:15.2f} {clips / m['cpu']:14.2f} {speedup_wall:>14s} "
            f"{speedup_cpu:>13s} {shares:>31s}   {walls}"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=None, help="CochResNet18 base width")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=None, help="runs of each, interleaved")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument(
        "--recipes",
        nargs="*",
        choices=list(RECIPES),
        help="compare these CPU recipes (all when none is named) instead of Lightning's overhead",
    )
    parser.add_argument("--run-recipe", choices=list(RECIPES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    recipes = args.recipes is not None or args.run_recipe is not None
    defaults = (64, 32, 5, 2, 2) if recipes else (32, 16, 20, 3, 5)
    keys = ("width", "batch_size", "steps", "warmup", "repeats")
    for key, default in zip(keys, defaults, strict=True):
        if getattr(args, key) is None:
            setattr(args, key, default)
    if min(args.width, args.batch_size, args.steps, args.warmup, args.repeats, args.threads) < 1:
        parser.error("every option must be a positive integer")

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    if args.run_recipe is not None:
        run_recipe(args)
        return
    if recipes:
        compare_recipes(args)
        return
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
