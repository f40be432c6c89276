"""Activation extraction: throughput against a bare forward pass, and memory as N grows.

Model: ``cochresnet18`` width 32 with a 794-word head, 2-s clips at 20 kHz (211 × 390
cochleagrams), untrained (weights do not change the cost), CPU, ``--threads`` intra-op threads
(1 by default: on cores shared with other jobs, more threads mostly wait on each other).

(a) Throughput, sounds per second, of the same ``--sounds`` raw waveforms in batches of
``--batch-size``: a bare forward pass ``model(waveforms)`` of the already prepared batches
(inference mode, eval), against :func:`extract_activations` of six read-outs (``conv1_relu1``,
``layer1`` … ``layer4``, ``avgpool``) from the raw waveforms (preprocessing included), one value
per unit (``pool="unit"``) in memory, the same streamed to an HDF5 file, with ``layer4``
unpooled (``pool="none"``) streamed to a file, and the six with frequency kept
(``pool="time"``) in memory. Repeats are interleaved; the median is reported, of wall-clock and
CPU time.

(b) Memory: for each N of ``--n-sounds``, a fresh process streams ``layer4`` and ``avgpool``
unpooled (``pool="none"``, 94 KB per sound) of N sounds made on demand (so the input takes
no memory) into an HDF5 file; it reports the growth of its peak RSS over its peak after a
16-sound warm-up, next to what the same arrays would take in memory.

    python benchmarks/activations.py [--threads 1] [--sounds 32] [--batch-size 16]
        [--repeats 5] [--n-sounds 64 256 1024]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import Dataset

from topoaudio_zoo import create_model
from topoaudio_zoo.analysis import extract_activations

POOLED = ["conv1_relu1", "layer1", "layer2", "layer3", "layer4", "avgpool"]
UNPOOLED = ["layer4", "avgpool"]  # 256 × 7 × 13 + 256 values, 94 KB per sound in float32


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model("cochresnet18", width=32, heads={"word": 794}).eval()


class _Noise(Dataset):
    """Prepared 2-s noise clips made on demand from their index."""

    def __init__(self, n: int, clip_samples: int) -> None:
        self.n, self.clip_samples = n, clip_samples

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        waveform = torch.randn(self.clip_samples, generator=torch.Generator().manual_seed(i))
        return {"waveform": waveform * (0.1 / waveform.std()), "key": f"noise{i}"}


def _timed(function: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput(n_sounds: int, batch_size: int, repeats: int) -> None:
    model = _model()
    waveforms = torch.randn(n_sounds, model.clip_samples)
    prepared = torch.cat([model.preprocess(w, model.sample_rate) for w in waveforms])
    folder = Path(tempfile.mkdtemp(prefix="topoaudio-bench-"))

    def bare() -> None:
        with torch.inference_mode():
            for start in range(0, n_sounds, batch_size):
                model(prepared[start : start + batch_size])

    def extract(layers: list[str], pool: str = "unit", out: str | None = None):
        def run() -> None:
            target = None if out is None else folder / out
            extract_activations(
                model, waveforms, layers, pool=pool, batch_size=batch_size, out=target,
                progress=False,
            )  # fmt: skip

        return run

    cases = {
        "bare forward model(waveform)": bare,
        "extract 6 pool=unit, in memory": extract(POOLED),
        "extract 6 pool=unit, to file": extract(POOLED, out="pooled.h5"),
        "extract layer4 pool=none, to file": extract(["layer4"], "none", "layer4.h5"),
        "extract 6 pool=time, in memory": extract(POOLED, "time"),
    }
    for function in cases.values():
        function()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, function in cases.items():
            times[name].append(_timed(function))
    bare_wall = statistics.median(t[0] for t in times["bare forward model(waveform)"])
    bare_cpu = statistics.median(t[1] for t in times["bare forward model(waveform)"])
    print(f"(a) {n_sounds} sounds, batch {batch_size}, median of {repeats}; wall-clock (CPU)")
    print(f"{'case':<38}{'sounds/s':>18}{'× bare':>16}")
    for name, values in times.items():
        wall = statistics.median(t[0] for t in values)
        cpu = statistics.median(t[1] for t in values)
        rate = f"{n_sounds / wall:.1f} ({n_sounds / cpu:.1f})"
        ratio = f"{bare_wall / wall:.2f} ({bare_cpu / cpu:.2f})"
        print(f"{name:<38}{rate:>18}{ratio:>16}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_worker(n_sounds: int, batch_size: int, out: Path) -> None:
    """One measurement (in its own process): peak-RSS growth of streaming N sounds."""
    model = _model()
    clip = model.clip_samples

    def stream(n: int) -> int:
        """Stream N sounds; returns the bytes the arrays would take in memory."""
        result = extract_activations(model, _Noise(n, clip), UNPOOLED, pool="none",
                                     batch_size=batch_size, out=out, progress=False)  # fmt: skip
        return sum(values.nbytes for values in result.values())

    stream(16)
    before = _peak_rss_mb()
    wall = time.perf_counter()
    in_memory = stream(n_sounds)
    wall = time.perf_counter() - wall
    print(json.dumps({
        "n": n_sounds,
        "rss_growth_mb": _peak_rss_mb() - before,
        "peak_rss_mb": _peak_rss_mb(),
        "in_memory_mb": in_memory / 2**20,
        "seconds": wall,
    }))  # fmt: skip


def memory(sizes: list[int], batch_size: int, threads: int) -> None:
    print(f"\n(b) streaming to an HDF5 file, batch {batch_size}: peak RSS growth over a warm-up")
    print(f"{'N':>6}{'RSS growth MB':>16}{'peak RSS MB':>14}{'arrays MB':>12}{'s':>8}")
    folder = Path(tempfile.mkdtemp(prefix="topoaudio-bench-"))
    for n in sizes:
        command = [sys.executable, __file__, "--worker", str(n), "--batch-size", str(batch_size),
                   "--threads", str(threads), "--out", str(folder / f"{n}.h5")]  # fmt: skip
        report = json.loads(subprocess.run(command, capture_output=True, text=True,
                                           check=True).stdout.splitlines()[-1])  # fmt: skip
        print(
            f"{n:>6}{report['rss_growth_mb']:>16.1f}{report['peak_rss_mb']:>14.1f}"
            f"{report['in_memory_mb']:>12.1f}{report['seconds']:>8.1f}"
        )
        for path in folder.iterdir():
            path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sounds", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-sounds", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker is not None:
        memory_worker(args.worker, args.batch_size, args.out)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cochresnet18 width 32")
    throughput(args.sounds, args.batch_size, args.repeats)
    memory(args.n_sounds, args.batch_size, args.threads)


if __name__ == "__main__":
    main()
