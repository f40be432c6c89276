"""bf16 − float32 accuracy per seed, from the evaluations of scripts/precision_check.sh.

Reads ``topoaudio-zoo evaluate`` JSON files whose models are ``runs/precision/<run>/model``, with
runs named ``fp32`` / ``bf16`` (seed 0) or ``fp32-seedN`` / ``bf16-seedN``, and prints a Markdown
table: for each accuracy and seed the two runs in %, their difference in points, and over the
seeds the mean difference with its 95 % t-interval (Student's t, n − 1 degrees of freedom).

    python scripts/precision_pairs.py evaluation.json evaluation-seeds.json > precision-pairs.md
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

from scipy import stats

ACCURACIES = (
    "word_top1_all",
    "word_top1_heldout_voices",
    "word_top1_heldout_engines",
    "background_top1_all",
)
RUN = re.compile(r"runs/precision/(fp32|bf16)(?:-seed(\d+))?/model$")


def accuracies_by_run(paths: list[Path]) -> dict[tuple[str, int], dict[str, float]]:
    """``{(precision, seed): {accuracy: fraction}}`` over the evaluations in ``paths``."""
    runs = {}
    for path in paths:
        for model, result in json.loads(path.read_text())["results"].items():
            match = RUN.search(model)
            if match is None:
                raise ValueError(f"{path}: {model!r} is not a runs/precision/<run>/model folder")
            runs[(match[1], int(match[2] or 0))] = result["accuracy"]
    return runs


def pairs_table(runs: dict[tuple[str, int], dict[str, float]]) -> str:
    """The Markdown table of bf16 − float32 per seed and its mean over the seeds."""
    seeds = sorted(
        seed for precision, seed in runs if precision == "fp32" and ("bf16", seed) in runs
    )
    if not seeds:
        raise ValueError("no seed has both a fp32 and a bf16 run")
    seed_columns = " | ".join(f"seed {s}: fp32 / bf16 / Δ" for s in seeds)
    lines = [
        f"bf16 − float32 accuracy (points) per seed, {len(seeds)} seeds; "
        "mean Δ with its 95 % t-interval",
        "",
        f"| accuracy | {seed_columns} | mean Δ [95 % CI] | fp32 spread over seeds (sd) |",
        "|---|" + "---|" * (len(seeds) + 2),
    ]
    for accuracy in ACCURACIES:
        fp32 = [100 * runs[("fp32", s)][accuracy] for s in seeds]
        bf16 = [100 * runs[("bf16", s)][accuracy] for s in seeds]
        deltas = [b - f for f, b in zip(fp32, bf16, strict=True)]
        cells = " | ".join(
            f"{f:.1f} / {b:.1f} / {d:+.1f}" for f, b, d in zip(fp32, bf16, deltas, strict=True)
        )
        mean = statistics.mean(deltas)
        if len(seeds) > 1:
            half = stats.t.ppf(0.975, len(seeds) - 1) * statistics.stdev(deltas)
            half /= len(seeds) ** 0.5
            interval = f"{mean:+.1f} [{mean - half:+.1f}, {mean + half:+.1f}]"
            spread = f"{statistics.stdev(fp32):.1f}"
        else:
            interval, spread = f"{mean:+.1f}", "–"
        lines.append(f"| {accuracy} | {cells} | {interval} | {spread} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evaluations", nargs="+", type=Path, help="evaluate's JSON files")
    args = parser.parse_args()
    print(pairs_table(accuracies_by_run(args.evaluations)), end="")


if __name__ == "__main__":
    main()
