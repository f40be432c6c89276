"""Markdown tables and PNG figures of brain-predictivity results (from :func:`run_report`'s JSON).

The results are ``{"dataset", "protocol", "models": {name: evaluate_features(...)}}``; the
cochleagram anchor, when present, is the model named ``"cochleagram"``.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ..plotting import save_figure
from .features import COCHLEAGRAM

__all__ = ["markdown_report", "paired_units", "plot_best_layers", "plot_layers", "sign_flip_p"]


def _mean(entry: float | dict) -> float:
    """A component's score, or a ROI's mean over participants."""
    return float(entry["mean"] if isinstance(entry, dict) and "mean" in entry else entry)


def _best(result: dict, key: str) -> float:
    entry = result["best_layer"][key]
    return float(entry["r2"] if "r2" in entry else entry["mean"])


def _keys(results: dict) -> list[str]:
    first = next(iter(results["models"].values()))
    return list(first["best_layer"])


def sign_flip_p(differences: np.ndarray, draws: int = 100_000, seed: int = 0) -> float:
    """Two-sided sign-flip test that paired differences have mean 0.

    Exact (every sign pattern) for up to 16 pairs, else ``draws`` random patterns (seeded).
    """
    d = np.asarray(differences, dtype=np.float64)
    if len(d) <= 16:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.random.default_rng(seed).choice((1.0, -1.0), size=(draws, len(d)))
    null = np.abs((signs * d).mean(axis=1))
    return float((null >= abs(d.mean()) - 1e-12).mean())


def paired_units(result: dict) -> dict[str, float]:
    """The units a comparison pairs: components, or participants (ROI ``all``) for voxels."""
    best = result["best_layer"]
    if "all" in best and "participants" in best["all"]:
        return best["all"]["participants"]
    return {key: entry["r2"] for key, entry in best.items()}


def _comparison(results: dict, reference: str) -> list[str]:
    ref = paired_units(results["models"][reference])
    lines = [
        "",
        f"## Paired comparison with `{reference}`",
        "",
        "| model | mean difference of best-layer R² | pairs | sign-flip p (two-sided) |",
        "|---|---|---|---|",
    ]
    for name, result in results["models"].items():
        if name == reference:
            continue
        units = paired_units(result)
        d = np.array([units[k] - ref[k] for k in ref])
        lines.append(f"| `{name}` | {d.mean():+.3f} | {len(d)} | {sign_flip_p(d):.3f} |")
    unit = "participants" if "all" in results["models"][reference]["best_layer"] else "components"
    lines.append("")
    lines.append(f"Pairs: {unit}; p from every sign pattern of the paired differences.")
    return lines


def markdown_report(results: dict, reference: str | None = None) -> str:
    """Best-layer R² per model (rows) and component/ROI (columns), then per-layer tables.

    With ``reference`` (a model of ``results``), also each model's paired difference from it
    over components (voxels: participants) with a sign-flip test.
    """
    keys = _keys(results)
    voxels = results["dataset"] != "nh2015-components"
    lines = [
        f"# Brain predictivity: {results['dataset']}",
        "",
        f"Protocol: {results['protocol']['description']}",
        "",
        "## Best layer (chosen on 5 splits, scored on the other 5, 10 times)",
        "",
        "| model | " + " | ".join(keys) + " | mean | shuffled-sound null |",
        "|---|" + "---|" * (len(keys) + 2),
    ]
    for name, result in results["models"].items():
        cells = []
        for key in keys:
            entry = result["best_layer"][key]
            cell = f"{_best(result, key):.3f}"
            if voxels:
                cell += f" ± {entry['sem']:.3f}"
            cells.append(cell)
        mean = np.mean([_best(result, key) for key in keys])
        null = result.get("null")
        null_cell = f"{null:.3f}" if null is not None else "—"
        lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {mean:.3f} | {null_cell} |")
    lines += [
        "",
        "R²: squared Pearson r of predicted and measured test responses (negative r as 0)"
        + (
            ", noise-corrected, median over voxels per participant, mean ± SEM over participants."
            if voxels
            else ", per component; mean: over the components."
        ),
        "Null: the same protocol with the sounds of the measured responses shuffled.",
    ]
    if reference is not None:
        if reference not in results["models"]:
            raise ValueError(f"reference: {reference!r} is not among {list(results['models'])}")
        lines += _comparison(results, reference)
    lines += ["", "## Per layer (median over the 10 splits)"]
    for name, result in results["models"].items():
        lines += [
            "",
            f"### `{name}`",
            "",
            "| layer | features | " + " | ".join(keys) + " | mean |",
            "|---|---|" + "---|" * (len(keys) + 1),
        ]
        for layer in result["layers"]:
            values = [_mean(result["per_layer"][layer][key]) for key in keys]
            row = " | ".join(f"{v:.3f}" for v in values)
            lines.append(
                f"| {layer} | {result['n_features'][layer]} | {row} | {np.mean(values):.3f} |"
            )
    return "\n".join(lines) + "\n"


def plot_layers(results: dict, out: str | os.PathLike) -> Path:
    """R² by layer, one panel per component/ROI, one line per model, the anchor dashed."""
    keys = _keys(results)
    columns = min(3, len(keys))
    rows = int(np.ceil(len(keys) / columns))
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.3 * rows), dpi=120, squeeze=False
    )
    models = results["models"]
    for ax, key in zip(axes.ravel(), keys, strict=False):
        for name, result in models.items():
            if name == COCHLEAGRAM:
                ax.axhline(
                    _mean(result["per_layer"][COCHLEAGRAM][key]),
                    color="black",
                    linestyle="--",
                    linewidth=1,
                    label="cochleagram (anchor)",
                )
                continue
            values = [_mean(result["per_layer"][layer][key]) for layer in result["layers"]]
            ax.plot(range(len(values)), values, marker="o", markersize=3, label=name)
            ax.set_xticks(range(len(values)), result["layers"], rotation=45, ha="right")
        ax.set_title(key)
        ax.set_ylabel("R² (median over splits)")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(keys) :]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), fontsize=8)
    fig.suptitle(f"{results['dataset']}: R² by layer")
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    return save_figure(fig, out)


def plot_best_layers(results: dict, out: str | os.PathLike) -> Path:
    """Best-layer R² per component/ROI, models side by side, the anchor as a line per group."""
    keys = _keys(results)
    models = {n: r for n, r in results["models"].items() if n != COCHLEAGRAM}
    anchor = results["models"].get(COCHLEAGRAM)
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(1.6 * len(keys) + 2, 3.8), dpi=120)
    x = np.arange(len(keys))
    for i, (name, result) in enumerate(models.items()):
        values = [_best(result, key) for key in keys]
        errors = [result["best_layer"][key].get("sem", 0.0) for key in keys]
        ax.bar(x - 0.4 + width * (i + 0.5), values, width, yerr=errors, label=name)
    if anchor is not None:
        for j, key in enumerate(keys):
            ax.hlines(
                _best(anchor, key),
                j - 0.45,
                j + 0.45,
                colors="black",
                linestyles="--",
                label="cochleagram (anchor)" if j == 0 else None,
            )
    ax.set_xticks(x, keys)
    ax.set_ylabel("best-layer R²")
    ax.set_ylim(0, 1)
    handles, labels = ax.get_legend_handles_labels()  # below the axes: bars reach the top
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8)
    ax.set_title(f"{results['dataset']}: best layer (held-out splits)")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return save_figure(fig, out)
