"""Map statistics: the permutation nulls' speed, and one maps call on a ResNet-18-size model.

(a) Nulls, ``--permutations`` (1 000) draws on a 16 × 32 sheet (512 units, the sheet of a
ResNet-18's ``layer4``), one thread: Moran's I against the sheet-permutation null, Moran's I of
d′ maps against the label-permutation null (165 sounds, a group of 17), and the TDANN smoothness
of 48 tuning curves against the sheet-permutation null. Median of ``--repeats`` runs, CPU time
of this process and wall-clock time.

(b) One :func:`~topoaudio_zoo.maps.model_maps` call — tonotopy (48 tones), AM (6 rates × 2
carriers + control), speech and music d′ maps with both nulls and 6 NMF components over 165
labelled sounds, 1 000 permutations each — on ``cochresnet18`` at width 64 (the ResNet-18 size;
untrained: weights do not change the cost) at every read-out stage (``conv1_relu1`` …
``avgpool``), ``--threads`` (2) threads, wall-clock and CPU time (CPU summed over threads:
on a shared machine the wall time grows with the load, the CPU time much less). The 165 sounds
are noise clips with the NH2015 category counts, or the real NH2015 sounds with ``--data-dir``
(loading excluded).

    python benchmarks/maps.py [--permutations 1000] [--repeats 3] [--threads 2] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from topoaudio_zoo import create_model
from topoaudio_zoo.maps import (
    LabelledSounds,
    dprime_and_t,
    label_permutation_test,
    model_maps,
    nh2015_sounds,
    sheet_permutation_test,
    smoothness_permutation_test,
)

NH2015_COUNTS = {
    "Mechanical": 39, "EnvSound": 27, "Music": 24, "HumNonVoc": 15, "HumVoc": 13, "Song": 11,
    "EngSpeech": 10, "AniVoc": 10, "ForSpeech": 7, "AniNonVoc": 5, "Nature": 4,
}  # fmt: skip


def _timed(function) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu, time.perf_counter() - wall


def _dprime(responses: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return dprime_and_t(responses, masks)[0]


def bench_nulls(permutations: int, repeats: int) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = np.mgrid[:16, :32][0]
    smooth_map = np.sin(rows / 4) + 0.3 * rng.standard_normal((16, 32))
    sounds = rng.standard_normal((165, 16, 32))
    group = np.arange(165) < 17
    curves = rng.standard_normal((48, 16, 32))
    cases = {
        "Moran's I, sheet null": lambda: sheet_permutation_test(smooth_map, permutations),
        "Moran's I of d', label null (165 sounds)": lambda: label_permutation_test(
            sounds, group, _dprime, permutations
        ),
        "TDANN smoothness, sheet null (48 stimuli)": lambda: smoothness_permutation_test(
            curves, permutations
        ),
    }
    print(f"(a) {permutations} permutations of a 16 x 32 sheet, 1 thread, median of {repeats}:")
    for name, case in cases.items():
        times = [_timed(case) for _ in range(repeats)]
        cpu = statistics.median(t[0] for t in times)
        wall = statistics.median(t[1] for t in times)
        print(f"  {name:<45} CPU {cpu:6.3f} s   wall {wall:6.3f} s")


def bench_model(threads: int, data_dir: str | None) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create_model("cochresnet18", heads={"word": 35}, width=64).eval()
    if data_dir:
        sounds = nh2015_sounds(model, data_dir)
    else:
        labels = [name for name, count in NH2015_COUNTS.items() for _ in range(count)]
        noise = torch.randn(len(labels), model.clip_samples) * 0.1
        sounds = LabelledSounds("noise with NH2015 labels", noise, labels)
    layers = [name for name in model.backbone.readout_layers if not name.startswith("final")]
    cpu, wall = time.process_time(), time.perf_counter()
    result = model_maps(model, layers, sounds, ("speech", "music"), progress=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    shapes = {item.layer: item.preferred.shape for item in result.tuning["tonotopy"]}
    print(
        f"(b) model_maps, cochresnet18 width 64, {len(layers)} read-out stages "
        f"({', '.join(f'{k} {h}x{w}' for k, (h, w) in shapes.items())}), {sounds.name}, "
        f"{threads} threads: {wall:.1f} s wall, {cpu:.1f} s CPU (all threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None, help="NH2015 folder (default: noise)")
    parser.add_argument("--skip-model", action="store_true", help="only the nulls")
    args = parser.parse_args()
    bench_nulls(args.permutations, args.repeats)
    if not args.skip_model:
        bench_model(args.threads, args.data_dir)


if __name__ == "__main__":
    main()
