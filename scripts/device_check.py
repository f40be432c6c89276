"""Every GPU path of topoaudio-zoo checked in one run, against the CPU (issue 20).

Checks, each isolated (an error fails that check only) and printed as ``PASS``/``FAIL``/``SKIP``
with its numbers:

- ``cochleagram_<mode>``: the ``Cochleagram`` (``fast`` and ``exact``) on the device equals the
  CPU to 1e-4 in float32, output and gradient with respect to the waveform;
- ``topographic_loss``: ``TopographicLoss`` values and weight gradients on the device equal the
  CPU to 1e-5, and equal the ``topoloss`` package on the device;
- ``train_bf16_<architecture>``: two Lightning training steps (``precision="bf16-mixed"``,
  channels_last, TopoLoss τ = 5) of ``cochresnet50`` and ``ast_coch``: finite losses, changed
  float32 weights, and a bf16 forward loss within 5 % of the float32 one;
- ``pretrained_extraction``: ``from_pretrained`` onto the device, ``extract_activations`` there,
  and an activation file written from the device equal (to 1e-4 of each layer's scale) to one
  written from the CPU;
- ``ddp``: one DistributedDataParallel step on 2 devices (NCCL; gloo with ``--cpu``) leaves the
  ranks' weights identical; skipped with fewer than 2 GPUs;
- ``throughput``: clips/s of a ``cochresnet50`` training step at batch 64 (bf16 autocast,
  channels_last, TopoLoss) and of the cochleagram alone at batch 64 (both modes).

Float32 comparisons run with TF32 off (cuDNN and cuBLAS), so that the device computes what
the CPU computes. The summary is written to ``device_check.json`` in ``--out`` (default:
``$OUT``, else the current folder) after every check, so a run cut short keeps what it did.
``--cpu`` runs the same checks on the CPU against the CPU at small sizes, to test the wiring
(it is no substitute for the GPU run). Exit status 0 when no check failed.

Run (from the repository root, the package on ``PYTHONPATH``; ``scripts/device_check.sh``
does this on a machine without the package installed):
``python scripts/device_check.py [--cpu] [--out FOLDER] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

CLIP = 40000  # 2 s at 20 kHz: the cochleagram_1 input
CPU_CLIP = 8000  # 0.4 s: short clips keep the CPU wiring run fast
CLASSES = 35
TOPOGRAPHY = {"tau": 5.0, "factor": 2.0, "layers": "default"}
COCHLEAGRAM_TOL = 1e-4
TOPOLOSS_TOL = 1e-5
ACTIVATION_TOL = 1e-4
BF16_LOSS_TOL = 0.05
DDP_TIMEOUT_S = 300


@dataclass(frozen=True)
class Sizes:
    """Problem sizes of one mode: the full ones on a GPU, small ones for ``--cpu``."""

    clip: int
    coch_batch: int
    train_batch: int
    architectures: dict[str, dict[str, Any]]
    topo_architecture: tuple[str, dict[str, Any]]
    ddp_architecture: tuple[str, dict[str, Any]]
    throughput_architecture: tuple[str, dict[str, Any]]
    throughput_batch: int
    throughput_steps: int
    extraction_sounds: int


GPU_SIZES = Sizes(
    clip=CLIP,
    coch_batch=4,
    train_batch=8,
    architectures={"cochresnet50": {}, "ast_coch": {}},
    topo_architecture=("cochresnet50", {}),
    ddp_architecture=("cochresnet18", {"width": 32}),
    throughput_architecture=("cochresnet50", {}),
    throughput_batch=64,
    throughput_steps=10,
    extraction_sounds=16,
)
CPU_SIZES = Sizes(
    clip=CPU_CLIP,
    coch_batch=2,
    train_batch=2,
    architectures={
        "cochresnet50": {"width": 4},
        "ast_coch": {"depth": 1, "embed_dim": 32, "num_heads": 2},
    },
    topo_architecture=("cochresnet18", {"width": 8}),
    ddp_architecture=("cochresnet18", {"width": 4}),
    throughput_architecture=("cochresnet50", {"width": 4}),
    throughput_batch=2,
    throughput_steps=1,
    extraction_sounds=2,
)


@dataclass
class Context:
    """What every check gets: the device under test, the reference device and the sizes."""

    device: torch.device
    reference: torch.device
    sizes: Sizes
    workdir: Path
    cpu_mode: bool


@dataclass
class Outcome:
    """A check's verdict (``None``: skipped) and its measured numbers."""

    passed: bool | None
    numbers: dict[str, Any] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _max_error(actual: torch.Tensor, expected: torch.Tensor) -> tuple[float, float]:
    """``(max |actual − expected|, max |expected|)`` in float64 on the CPU."""
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    return float((a - e).abs().max()), float(e.abs().max())


def _within(error: float, scale: float, tol: float) -> bool:
    """``error ≤ tol · max(1, scale)``: absolute below unit scale, relative above it."""
    return error <= tol * max(1.0, scale)


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _clips(n: int, samples: int, seed: int = 0) -> torch.Tensor:
    """``(n, samples)`` noise clips at RMS 0.1."""
    return 0.1 * torch.randn(n, samples, generator=_seeded(seed))


# ------------------------------------------------------------------------------- the checks
def check_cochleagram(ctx: Context, mode: str) -> Outcome:
    """Output and waveform gradient of one cochleagram mode: device vs reference."""
    from topoaudio_zoo import Cochleagram

    front = Cochleagram(mode=mode, signal_size=ctx.sizes.clip)
    waveform = _clips(ctx.sizes.coch_batch, ctx.sizes.clip)
    upstream = torch.randn(front.output_shape(ctx.sizes.coch_batch), generator=_seeded(1))
    results = {}
    for name, device in (("device", ctx.device), ("reference", ctx.reference)):
        x = waveform.to(device).requires_grad_(True)
        out = front(x)
        out.backward(upstream.to(device))
        results[name] = (out.detach().cpu(), x.grad.cpu(), out.dtype, out.device.type)
    out_err, out_scale = _max_error(results["device"][0], results["reference"][0])
    grad_err, grad_scale = _max_error(results["device"][1], results["reference"][1])
    numbers = {
        "output_max_abs_error": out_err,
        "output_max_abs": out_scale,
        "grad_max_abs_error": grad_err,
        "grad_max_abs": grad_scale,
        "dtype": str(results["device"][2]),
        "output_device": results["device"][3],
        "tolerance": COCHLEAGRAM_TOL,
    }
    passed = (
        _within(out_err, out_scale, COCHLEAGRAM_TOL)
        and _within(grad_err, grad_scale, COCHLEAGRAM_TOL)
        and results["device"][2] == torch.float32
        and results["device"][3] == ctx.device.type
    )
    return Outcome(passed, numbers)


def check_topographic_loss(ctx: Context) -> Outcome:
    """TopographicLoss values and gradients: device vs reference, and vs ``topoloss``."""
    from topoloss import LaplacianPyramid, TopoLoss

    from topoaudio_zoo import TopographicLoss, create_backbone

    name, kwargs = ctx.sizes.topo_architecture
    torch.manual_seed(0)
    reference_model = create_backbone(name, heads={"word": CLASSES}, **kwargs)
    device_model = create_backbone(name, heads={"word": CLASSES}, **kwargs)
    device_model.load_state_dict(reference_model.state_dict())
    device_model.to(ctx.device)
    reference_model.to(ctx.reference)
    tau, factor = TOPOGRAPHY["tau"], TOPOGRAPHY["factor"]

    def values_and_grads(model, compute):
        model.zero_grad(set_to_none=True)
        loss, per_layer = compute(model)
        loss.backward()
        grads = [model.get_submodule(n).weight.grad.detach().cpu() for n in layer_names]
        return loss.detach().cpu(), per_layer.detach().cpu(), grads

    def ours(model):
        topo = TopographicLoss(model, tau=tau, factor=factor)
        values = topo.layer_values()
        return tau * values.mean(), values

    layer_names = TopographicLoss(device_model, tau=tau, factor=factor).layer_names
    oracle = TopoLoss([LaplacianPyramid(n, factor, factor, scale=tau) for n in layer_names])

    def package(model):
        per_layer = oracle.compute(model, reduce_mean=False, do_scaling=False)
        return oracle.compute(model), torch.stack([per_layer[n] for n in layer_names])

    device = values_and_grads(device_model, ours)
    reference = values_and_grads(reference_model, ours)
    package_device = values_and_grads(device_model, package)
    numbers: dict[str, Any] = {"architecture": name, "layers": len(layer_names), "tau": tau}
    passed = True
    for label, other in (("reference", reference), ("topoloss", package_device)):
        value_err, _ = _max_error(device[1], other[1])
        loss_err, _ = _max_error(device[0], other[0])
        grad_errs = [_max_error(a, b) for a, b in zip(device[2], other[2], strict=True)]
        grad_err = max(e for e, _ in grad_errs)
        grad_rel = max(e / max(s, 1e-30) for e, s in grad_errs)
        numbers[f"vs_{label}"] = {
            "layer_value_max_abs_error": value_err,
            "loss_abs_error": loss_err,
            "grad_max_abs_error": grad_err,
            "grad_max_error_relative_to_layer_max": grad_rel,
        }
        passed = passed and value_err <= TOPOLOSS_TOL and loss_err <= TOPOLOSS_TOL * tau
        passed = passed and all(_within(e, s, TOPOLOSS_TOL) for e, s in grad_errs)
    numbers["loss"] = float(device[0])
    numbers["tolerance"] = TOPOLOSS_TOL
    return Outcome(passed, numbers)


class _Clips(torch.utils.data.Dataset):
    """``n`` in-memory noise clips with word targets, in the DataModules' batch format."""

    def __init__(self, n: int, samples: int) -> None:
        self.waveforms = _clips(n, samples)
        self.words = torch.randint(0, CLASSES, (n,), generator=_seeded(2))

    def __len__(self) -> int:
        return len(self.waveforms)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"waveform": self.waveforms[i], "targets": {"word": self.words[i]}, "key": str(i)}


def _cochleagram_config(samples: int) -> dict[str, Any]:
    overrides = {} if samples == CLIP else {"signal_size": samples}
    return {"preset": "cochleagram_1", "mode": "fast", "overrides": overrides}


def _module_kwargs(architecture: str, kwargs: dict[str, Any], samples: int) -> dict[str, Any]:
    """``TopoAudioModule`` arguments: one word head, TopoLoss, AdamW."""
    return {
        "architecture": architecture,
        "architecture_kwargs": kwargs,
        "cochleagram": _cochleagram_config(samples),
        "tasks": {"word": {"num_classes": CLASSES}},
        "topography": TOPOGRAPHY,
        "optimizer": {"name": "adamw", "lr": 1e-4},
    }


def _model(architecture: str, kwargs: dict[str, Any], samples: int) -> torch.nn.Module:
    """The same model as a plain ``TopoAudioModel`` (no Lightning import: fast to spawn)."""
    from topoaudio_zoo.zoo.model import TopoAudioModel

    heads = {"word": {"num_classes": CLASSES, "type": "multiclass", "labels": None}}
    config = {
        "architecture": architecture,
        "architecture_kwargs": kwargs,
        "cochleagram": _cochleagram_config(samples),
        "rms": 0.1,
        "heads": heads,
        "topography": TOPOGRAPHY,
    }
    return TopoAudioModel(config)


def _accelerator(device: torch.device) -> str:
    return "gpu" if device.type == "cuda" else "cpu"


def check_train_bf16(ctx: Context, architecture: str) -> Outcome:
    """Two Lightning steps under ``bf16-mixed`` with channels_last: losses finite, float32
    weights changed, and the first batch's bf16 loss close to its float32 loss."""
    import lightning as L

    from topoaudio_zoo import Cochleagram
    from topoaudio_zoo.training import TopoAudioModule

    kwargs = dict(ctx.sizes.architectures[architecture])
    if architecture == "ast_coch":  # positional embeddings sized to the cochleagram
        front = Cochleagram(signal_size=ctx.sizes.clip)
        kwargs["input_size"] = [front.n_channels, front.n_frames]
    torch.manual_seed(0)
    samples = ctx.sizes.clip
    module = TopoAudioModule(**_module_kwargs(architecture, kwargs, samples), channels_last=True)
    batch = next(iter(torch.utils.data.DataLoader(_Clips(ctx.sizes.train_batch, samples), 64)))
    model = module.model.to(ctx.device)
    waveform, target = batch["waveform"].to(ctx.device), batch["targets"]["word"].to(ctx.device)
    with torch.no_grad():
        cochleagram = model.cochleagram(waveform)
        losses = {}
        for label, enabled in (("float32", False), ("bf16", True)):
            with torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=enabled):
                logits = model.forward_cochleagram(cochleagram)["word"]
            losses[label] = float(F.cross_entropy(logits.float(), target))
    before = {n: p.detach().clone().cpu() for n, p in module.named_parameters()}
    losses_seen: list[float] = []

    class _Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            losses_seen.append(float(outputs["loss"]))

    trainer = L.Trainer(
        accelerator=_accelerator(ctx.device),
        devices=1,
        precision="bf16-mixed",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        callbacks=[_Record()],
        default_root_dir=ctx.workdir,
    )
    start = time.perf_counter()
    loader = torch.utils.data.DataLoader(
        _Clips(2 * ctx.sizes.train_batch, samples), ctx.sizes.train_batch
    )
    trainer.fit(module, train_dataloaders=loader)
    seconds = time.perf_counter() - start
    params = dict(module.named_parameters())
    changed = sum(not torch.equal(before[n], p.detach().cpu()) for n, p in params.items())
    dtypes = sorted({str(p.dtype) for p in params.values()})
    devices = sorted({p.device.type for p in params.values()})
    bf16_error = abs(losses["bf16"] - losses["float32"]) / abs(losses["float32"])
    numbers = {
        "architecture": architecture,
        "architecture_kwargs": kwargs,
        "batch": ctx.sizes.train_batch,
        "step_losses": losses_seen,
        "parameters_changed": f"{changed}/{len(params)}",
        "parameter_dtypes": dtypes,
        "parameter_devices": devices,
        "first_batch_loss_float32": losses["float32"],
        "first_batch_loss_bf16": losses["bf16"],
        "bf16_relative_loss_error": bf16_error,
        "fit_seconds": seconds,
    }
    passed = (
        len(losses_seen) == 2
        and all(np.isfinite(losses_seen))
        and changed == len(params)
        and dtypes == ["torch.float32"]
        and devices == [ctx.device.type]
        and bf16_error <= BF16_LOSS_TOL
    )
    return Outcome(passed, numbers)


def _pretrained_name() -> str:
    from topoaudio_zoo import list_models

    names = list_models(pretrained=True)
    if not names:
        raise FileNotFoundError("no pretrained model is available here (list_models is empty)")
    return names[0]


def _extract_to_file(
    model: torch.nn.Module, sounds: torch.Tensor, layers: list[str], path: Path
) -> tuple[Any, Any]:
    """Activations of ``layers`` for ``sounds`` in memory, and as read back from ``path``."""
    from topoaudio_zoo import extract_activations, load_activations

    in_memory = extract_activations(model, sounds, layers, progress=False)
    extract_activations(model, sounds, layers, out=path, progress=False)
    return in_memory, load_activations(path)


def check_pretrained_extraction(ctx: Context) -> Outcome:
    """``from_pretrained`` onto the device; activations extracted there, in memory and to a
    file, equal those of the same model on the reference device."""
    from topoaudio_zoo import from_pretrained
    from topoaudio_zoo.stimuli import pure_tone

    name = _pretrained_name()
    model = from_pretrained(name, map_location=ctx.device)
    reference_model = from_pretrained(name, map_location=ctx.reference)
    devices = sorted({p.device.type for p in model.parameters()})
    frequencies = np.geomspace(100.0, 8000.0, ctx.sizes.extraction_sounds)
    sounds = torch.stack([pure_tone(float(f)) for f in frequencies])
    layers = ["layer1", "layer4", "avgpool"]
    on_device, device_file = _extract_to_file(model, sounds, layers, ctx.workdir / "device.h5")
    _, reference_file = _extract_to_file(
        reference_model, sounds, layers, ctx.workdir / "reference.h5"
    )
    numbers: dict[str, Any] = {"model": name, "parameter_devices": devices, "layers": {}}
    passed = devices == [ctx.device.type]
    for layer in layers:
        memory = np.asarray(on_device[layer])
        written = np.array(device_file[layer])
        expected = np.array(reference_file[layer])
        error, scale = _max_error(torch.from_numpy(written), torch.from_numpy(expected))
        memory_vs_file = float(np.abs(memory - written).max())
        numbers["layers"][layer] = {
            "shape": list(written.shape),
            "file_max_abs_error_vs_reference": error,
            "max_abs": scale,
            "memory_vs_file_max_abs_difference": memory_vs_file,
        }
        passed = passed and written.shape == expected.shape and memory_vs_file == 0.0
        passed = passed and error <= ACTIVATION_TOL * max(scale, 1e-12)
    numbers["tolerance_relative_to_layer_max"] = ACTIVATION_TOL
    return Outcome(passed, numbers)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(
    rank: int, world: int, port: int, cpu: bool, spec: tuple, samples: int, out: str
) -> None:
    """One rank of the DDP check: one bf16 step with TopoLoss, then its weights saved."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    device = torch.device("cpu") if cpu else torch.device("cuda", rank)
    if not cpu:
        torch.cuda.set_device(device)
    dist.init_process_group("gloo" if cpu else "nccl", rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        model = _model(*spec, samples).to(device).train()
        ddp = DistributedDataParallel(model, device_ids=None if cpu else [rank])
        topo = model.topographic_loss()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        data = _Clips(4 * world, samples)
        waveform = data.waveforms[rank::world].to(device)
        target = data.words[rank::world].to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            logits = ddp(waveform)["word"]
        loss = F.cross_entropy(logits.float(), target) + topo()
        loss.backward()
        optimizer.step()
        state = {k: v.detach().cpu() for k, v in model.named_parameters()}
        torch.save(state, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def check_ddp(ctx: Context) -> Outcome:
    """One DistributedDataParallel step on 2 ranks: identical weights on both, changed."""
    import torch.multiprocessing as mp

    if not ctx.cpu_mode and torch.cuda.device_count() < 2:
        return Outcome(None, {"reason": f"{torch.cuda.device_count()} GPU(s): needs 2"})
    out = ctx.workdir / "ddp"
    out.mkdir(exist_ok=True)
    spec = ctx.sizes.ddp_architecture
    args = (2, _free_port(), ctx.cpu_mode, spec, ctx.sizes.clip, str(out))
    context = mp.start_processes(_ddp_worker, args=args, nprocs=2, join=False, start_method="spawn")
    deadline = time.monotonic() + DDP_TIMEOUT_S
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            raise TimeoutError(f"the DDP ranks did not finish in {DDP_TIMEOUT_S} s")
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    differing = [k for k in ranks[0] if not torch.equal(ranks[0][k], ranks[1][k])]
    numbers = {
        "backend": "gloo" if ctx.cpu_mode else "nccl",
        "architecture": list(ctx.sizes.ddp_architecture),
        "parameters": len(ranks[0]),
        "parameters_differing_between_ranks": differing,
    }
    return Outcome(not differing, numbers)


def _median_seconds(
    step: Callable[[], None], device: torch.device, warmup: int, steps: int
) -> float:
    """Median seconds of ``step`` over ``steps`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _train_seconds(ctx: Context, waveform: torch.Tensor) -> float:
    """Median seconds of a bf16 training step (cochleagram, channels_last backbone, word loss,
    TopoLoss, AdamW) on ``waveform``."""
    architecture, kwargs = ctx.sizes.throughput_architecture
    torch.manual_seed(0)
    model = _model(architecture, kwargs, waveform.shape[-1]).to(ctx.device).train()
    model.backbone.to(memory_format=torch.channels_last)
    topo = model.topographic_loss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    target = torch.randint(0, CLASSES, (len(waveform),), generator=_seeded(3)).to(ctx.device)

    def train_step() -> None:
        with torch.no_grad():
            cochleagram = model.cochleagram(waveform)
        with torch.autocast(ctx.device.type, dtype=torch.bfloat16):
            logits = model.forward_cochleagram(cochleagram)["word"]
        loss = F.cross_entropy(logits.float(), target) + topo()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return _median_seconds(train_step, ctx.device, 2, ctx.sizes.throughput_steps)


def check_throughput(ctx: Context) -> Outcome:
    """clips/s of a bf16 training step of ``cochresnet50`` at batch 64 and of the cochleagram
    alone at batch 64 (median over timed repeats after warm-up)."""
    from topoaudio_zoo import Cochleagram

    batch, samples = ctx.sizes.throughput_batch, ctx.sizes.clip
    architecture, kwargs = ctx.sizes.throughput_architecture
    waveform = _clips(batch, samples).to(ctx.device)
    numbers: dict[str, Any] = {
        "batch": batch,
        "timed_steps": ctx.sizes.throughput_steps,
        "clip_seconds": samples / 20000,
        "train_step": f"{architecture} {kwargs}, bf16 autocast, channels_last, TopoLoss, AdamW",
        "train_clips_per_s": batch / _train_seconds(ctx, waveform),
    }
    for mode in ("fast", "exact"):
        front = Cochleagram(mode=mode, signal_size=samples)

        def forward(front=front) -> None:
            with torch.no_grad():
                front(waveform)

        seconds = _median_seconds(forward, ctx.device, 1, ctx.sizes.throughput_steps)
        numbers[f"cochleagram_{mode}_clips_per_s"] = batch / seconds
    if ctx.device.type == "cuda":
        numbers["peak_memory_gib"] = torch.cuda.max_memory_allocated(ctx.device) / 2**30
    return Outcome(all(v > 0 for k, v in numbers.items() if k.endswith("clips_per_s")), numbers)


CHECKS: dict[str, Callable[[Context], Outcome]] = {
    "cochleagram_fast": lambda ctx: check_cochleagram(ctx, "fast"),
    "cochleagram_exact": lambda ctx: check_cochleagram(ctx, "exact"),
    "topographic_loss": check_topographic_loss,
    "train_bf16_cochresnet50": lambda ctx: check_train_bf16(ctx, "cochresnet50"),
    "train_bf16_ast_coch": lambda ctx: check_train_bf16(ctx, "ast_coch"),
    "pretrained_extraction": check_pretrained_extraction,
    "ddp": check_ddp,
    "throughput": check_throughput,
}


# ---------------------------------------------------------------------------------- running
def environment() -> dict[str, Any]:
    """Versions and hardware of this run."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    for package in ("torchaudio", "lightning", "topoloss", "h5py", "soundfile", "numpy"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            info[package] = "not installed"
    if torch.cuda.is_available():
        info["cuda"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def run_check(name: str, ctx: Context) -> dict[str, Any]:
    """Run one check, catching any error, and print its verdict line."""
    start = time.perf_counter()
    try:
        outcome = CHECKS[name](ctx)
    except Exception as err:  # isolation: one failing check must not stop the others
        outcome = Outcome(
            False, {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
        )
    seconds = time.perf_counter() - start
    status = {True: "PASS", False: "FAIL", None: "SKIP"}[outcome.passed]
    shown = {k: v for k, v in outcome.numbers.items() if k != "traceback"}
    print(f"{status} {name} ({seconds:.1f} s): {json.dumps(shown, default=str)}", flush=True)
    if "traceback" in outcome.numbers:
        print(outcome.numbers["traceback"], file=sys.stderr, flush=True)
    return {"name": name, "status": status, "seconds": seconds, **outcome.numbers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true", help="check the wiring on the CPU")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    parser.add_argument("--only", nargs="+", choices=sorted(CHECKS), help="run these checks")
    args = parser.parse_args(argv)
    if not args.cpu and not torch.cuda.is_available():
        parser.error("no CUDA device is visible: run on a GPU machine, or pass --cpu")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: {args.out} is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if args.cpu:
        torch.set_num_threads(min(2, os.cpu_count() or 1))
    summary: dict[str, Any] = {
        "mode": "cpu-wiring" if args.cpu else "gpu",
        "environment": environment(),
        "checks": [],
    }
    print(f"device check ({summary['mode']}): {json.dumps(summary['environment'])}", flush=True)
    path = args.out / "device_check.json"
    with tempfile.TemporaryDirectory() as workdir:
        ctx = Context(
            device=torch.device("cpu" if args.cpu else "cuda"),
            reference=torch.device("cpu"),
            sizes=CPU_SIZES if args.cpu else GPU_SIZES,
            workdir=Path(workdir),
            cpu_mode=args.cpu,
        )
        for name in args.only or list(CHECKS):
            summary["checks"].append(run_check(name, ctx))
            path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    failed = [c["name"] for c in summary["checks"] if c["status"] == "FAIL"]
    summary["failed"] = failed
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"{'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}; summary {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
