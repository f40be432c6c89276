"""Share of the topographic loss in one training step, on CPU (2 threads by default).

For each model: a full training step (``zero_grad``, forward on a 211×390 cochleagram batch,
cross-entropy, the topographic loss, backward of their sum, SGD step) and, separately, the
topographic loss alone (forward + backward, gradients into ``.grad`` cleared before the
timer starts, as the step's ``zero_grad`` leaves them: freeing the previous step's gradients
is part of the step: up to about 20 ms for ``cochresnet50`` on a 2-core machine).
The share is ``topo / step``. The marginal share is ``added / step``, ``added`` being the
median over repeats of ``step − plain``, ``plain`` the same step without the topographic
term (τ = 0) timed right after it: what the loss really adds, including the pass that sums
its gradients with the task's (noisier than the share: a difference of two long timings).
For comparison the loss alone is timed for the reference ``topoloss`` package (one layer at
a time). Repeats are interleaved and the median is reported, of wall-clock time and of the
process' CPU time (the latter is less disturbed by other processes competing for the cores,
at least with ``--threads 1``: with two threads an OpenMP thread waiting for a descheduled
partner counts too).

Run: ``python benchmarks/topoloss.py [--repeats N] [--threads 2]``. This file's name is that
of the ``topoloss`` package, so when run as a script its folder is taken off ``sys.path``
first.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import torch  # noqa: E402
from topoloss import LaplacianPyramid, TopoLoss  # noqa: E402

from topoaudio_zoo.backbones import create_backbone  # noqa: E402
from topoaudio_zoo.topography import TopographicLoss  # noqa: E402

CASES = (
    ("cochresnet50", {}, 4),
    ("cochresnet18", {"width": 32}, 16),
)
TAU = 5.0
N_CLASSES = 794


def _timed(setup: Callable[[], None], function: Callable[[], None]) -> tuple[float, float]:
    setup()
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def _bench(name: str, kwargs: dict, batch: int, repeats: int) -> dict[str, tuple[float, float]]:
    torch.manual_seed(0)
    model = create_backbone(name, heads=N_CLASSES, **kwargs).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    topo = TopographicLoss(model, tau=TAU)
    reference = TopoLoss(
        [LaplacianPyramid(layer, *topo.factor, scale=TAU) for layer in topo.layer_names]
    )
    x = torch.randn(batch, 211, 390)
    y = torch.randint(0, N_CLASSES, (batch,))

    def step(with_topo: bool = True) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        if with_topo:
            loss = loss + topo()
        loss.backward()
        optimizer.step()

    def nothing() -> None:
        pass

    def clear() -> None:
        optimizer.zero_grad(set_to_none=True)

    timers = {  # name: (untimed set-up, timed function)
        "step": (nothing, step),
        "plain": (nothing, lambda: step(with_topo=False)),
        "topo": (clear, lambda: topo().backward()),
        "topoloss_pkg": (clear, lambda: reference.compute(model).backward()),
    }
    for setup, function in timers.values():
        _timed(setup, function)
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in timers}
    for _ in range(repeats):
        for key, (setup, function) in timers.items():
            times[key].append(_timed(setup, function))
    medians = {
        key: (statistics.median(t[0] for t in values), statistics.median(t[1] for t in values))
        for key, values in times.items()
    }
    pairs = list(zip(times["step"], times["plain"], strict=True))
    medians["added"] = (
        statistics.median(step[0] - plain[0] for step, plain in pairs),
        statistics.median(step[1] - plain[1] for step, plain in pairs),
    )
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, tau={TAU}, "
        f"median of {args.repeats}; times in s, wall-clock (CPU)"
    )
    header = ["model", "batch", "layers", "step", "topo", "share", "marginal share"]
    header += ["topoloss pkg", "pkg share"]
    print(f"{header[0]:<22}{header[1]:>6}{header[2]:>7}" + "".join(f"{h:>18}" for h in header[3:]))
    for name, kwargs, batch in CASES:
        timing = _bench(name, kwargs, batch, args.repeats)
        label = name + "".join(f" {k}={v}" for k, v in kwargs.items())
        n_layers = len(create_backbone(name, **kwargs).default_topographic_layers())
        step, added = timing["step"], timing["added"]
        topo, pkg = timing["topo"], timing["topoloss_pkg"]
        cells = [
            f"{step[0]:.3f} ({step[1]:.3f})",
            f"{topo[0]:.4f} ({topo[1]:.4f})",
            f"{topo[0] / step[0]:.1%} ({topo[1] / step[1]:.1%})",
            f"{added[0] / step[0]:.1%} ({added[1] / step[1]:.1%})",
            f"{pkg[0]:.4f} ({pkg[1]:.4f})",
            f"{pkg[0] / step[0]:.1%} ({pkg[1] / step[1]:.1%})",
        ]
        print(f"{label:<22}{batch:>6}{n_layers:>7}" + "".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
    main()
