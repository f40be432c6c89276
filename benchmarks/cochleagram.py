"""Throughput of the cochleagram front end: ``mode="fast"`` versus ``mode="exact"``.

Batch of 8 two-second clips at 20 kHz (``cochleagram_1``), CPU, ``torch.set_num_threads(2)``.
Both modes are timed alternately in the same run (median of ``--repeats`` rounds) and their
accuracy against the reference outputs is printed next to the speed.

    python benchmarks/cochleagram.py [--repeats 7] [--batch 8]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from topoaudio_zoo import Cochleagram

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "cochleagram_1_reference.npz"


def clips_per_second(front: Cochleagram, batch: torch.Tensor) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        front(batch)
    return batch.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    fronts = {mode: Cochleagram(mode=mode) for mode in ("fast", "exact")}
    batch = torch.randn(args.batch, 40000, generator=torch.Generator().manual_seed(0)) * 0.1
    for front in fronts.values():
        clips_per_second(front, batch)  # warm-up: builds the filter bank
    rates = {mode: [] for mode in fronts}
    for _ in range(args.repeats):
        for mode, front in fronts.items():
            rates[mode].append(clips_per_second(front, batch))
    reference = np.load(REFERENCE)
    signals = torch.from_numpy(reference["signals"])
    print(f"batch {args.batch} x 2 s at 20 kHz, {args.threads} threads, {args.repeats} rounds")
    for mode, front in fronts.items():
        with torch.no_grad():
            err = np.abs(front(signals).numpy() - reference["cochleagrams"])
        print(
            f"{mode:>5}: {statistics.median(rates[mode]):8.1f} clips/s "
            f"(min {min(rates[mode]):.1f}, max {max(rates[mode]):.1f}); "
            f"vs reference: max abs err {err.max():.2e}, rms {np.sqrt((err**2).mean()):.2e}"
        )
    ratio = statistics.median(rates["fast"]) / statistics.median(rates["exact"])
    print(f"fast / exact: {ratio:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
