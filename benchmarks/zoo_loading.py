"""Loading a zoo model: ``from_pretrained`` versus ``torch.load`` of the same state dict.

A CochResNet18 of width 32 with one 35-class head (2.8 M parameters, 11 MB) is saved with
``save_pretrained`` and its state dict with ``torch.save``. Timed, alternately in one run
(median of ``--repeats`` rounds, after one warm-up round), each building the model:

- ``torch.load``: ``TopoAudioModel(config)`` + ``load_state_dict(torch.load(weights_only=True))``
  (the config already in memory: the baseline);
- ``from_pretrained(folder)``: a local folder;
- ``from_pretrained(hf-hub:..., local_files_only=True)``: a warm Hub cache, offline;
- ``from_pretrained(hf-hub:...)``: a warm Hub cache, online: one ``HEAD`` revalidates the
  config against a Hub-compatible server on 127.0.0.1 (``tests/fake_hub.py``).

Target: each ``from_pretrained`` ≤ 1.5 × ``torch.load`` and < 1 s.

    python benchmarks/zoo_loading.py [--repeats 15] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from topoaudio_zoo.zoo import TopoAudioModel, from_pretrained

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fake_hub import FakeHub, point_client_at

CONFIG = {
    "architecture": "cochresnet18",
    "architecture_kwargs": {"width": 32},
    "heads": {"word": 35},
}


def seconds(load: Callable[[], torch.nn.Module]) -> float:
    start = time.perf_counter()
    load()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="zoo-loading-"))
    model = TopoAudioModel(CONFIG)
    model.save_pretrained(work / "folder")
    torch.save(model.state_dict(), work / "state_dict.pt")

    hub = FakeHub().start()
    patch = pytest.MonkeyPatch()
    point_client_at(patch, hub.url, work / "cache", work / "hf-home")
    hub.commit_folder("bench/cochresnet18w32", work / "folder")
    from_pretrained("hf-hub:bench/cochresnet18w32")  # fills the cache

    def baseline() -> torch.nn.Module:
        built = TopoAudioModel(CONFIG)
        built.load_state_dict(torch.load(work / "state_dict.pt", weights_only=True))
        return built.eval()

    loaders = {
        "torch.load + build": baseline,
        "from_pretrained(folder)": lambda: from_pretrained(work / "folder"),
        "from_pretrained(hub cache, offline)": lambda: from_pretrained(
            "hf-hub:bench/cochresnet18w32", local_files_only=True
        ),
        "from_pretrained(hub cache, online)": lambda: from_pretrained(
            "hf-hub:bench/cochresnet18w32"
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in loaders}
    for round_index in range(args.repeats + 1):
        for name, load in loaders.items():
            elapsed = seconds(load)
            if round_index:
                times[name].append(elapsed)
    hub.stop()
    patch.undo()

    print(
        f"{model.num_parameters():,} parameters, {args.threads} threads, {args.repeats} rounds "
        f"(median, min-max); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    base = statistics.median(times["torch.load + build"])
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"{name:<38} {median * 1000:7.1f} ms ({min(values) * 1000:.1f}-"
            f"{max(values) * 1000:.1f}), {median / base:.2f}x"
        )
    worst = max(statistics.median(v) for n, v in times.items() if n.startswith("from_pretrained"))
    verdict = "met" if worst <= 1.5 * base and worst < 1.0 else "MISSED"
    print(f"target <= 1.5x and < 1 s: {verdict} (slowest from_pretrained {worst / base:.2f}x)")


if __name__ == "__main__":
    main()
