"""Figures of maps: one PNG per map family, models side by side, shared colour scales.

Every panel is one layer's sheet; its title carries the map's statistics against their nulls
(Moran's I with its sheet-permutation p, the TDANN smoothness with its p and, for category
maps, the label-permutation p). Units with no defined value are grey.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.ticker import NullFormatter

from ..plotting import save_figure
from .model_maps import ModelMaps

__all__ = ["plot_all", "plot_category_maps", "plot_components", "plot_tuning_maps"]

# Colour-bar ticks: powers of 2 for modulation rates, 1-2-5 steps for frequencies.
_NICE_RATES = (2, 4, 8, 16, 32, 64, 128)
_NICE_FREQUENCIES = (50, 100, 200, 500, 1000, 2000, 5000, 8000, 10000)


def _p(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f}".rstrip("0").rstrip(".")


def _row_label(model: str, width: int = 24) -> str:
    """A model's name or folder for a row's label: broken after ``/`` or ``-`` into lines of
    at most ``width`` characters where the pieces allow."""
    lines = [""]
    for piece in re.findall(r"[^/-]+[/-]?|[/-]", model):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(lines)


def _grid(models: Sequence[ModelMaps], sheets: Sequence[np.ndarray], title_lines: int):
    """One row per model, one column per layer; panels sized by the sheets' aspect."""
    widths = [sheet.shape[1] / sheet.shape[0] for sheet in sheets]
    fig, axes = plt.subplots(
        len(models),
        len(sheets),
        figsize=(
            1.7 * sum(min(w, 2.2) for w in widths) + 1.6,
            (1.9 + 0.14 * title_lines) * len(models) + 0.6,
        ),
        squeeze=False,
        dpi=120,
        layout="constrained",
        gridspec_kw={"width_ratios": [min(w, 2.2) for w in widths]},
    )
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def plot_tuning_maps(
    models: Sequence[ModelMaps], family: str, out: str | os.PathLike, title: str = ""
) -> Path:
    """Preferred-value maps of ``family`` for every layer (rows) of every model (columns).

    One log colour scale over the family's values; panel titles give Moran's I of the map and
    the TDANN smoothness of the tuning curves, each with its sheet-permutation p.
    """
    first = models[0].tuning[family]
    values = first[0].values
    fig, axes = _grid(models, [item.preferred for item in first], 3)
    cmap = plt.get_cmap("turbo").with_extremes(bad="0.75")
    norm = LogNorm(values.min(), values.max())
    image = None
    for row, result in enumerate(models):
        for col, item in enumerate(result.tuning[family]):
            ax = axes[row, col]
            image = ax.imshow(
                np.ma.masked_invalid(item.preferred), cmap=cmap, norm=norm, interpolation="nearest"
            )
            ax.set_title(
                f"{item.layer}\nI={item.morans_i.value:.2f} (p={_p(item.morans_i.p_value)})\n"
                f"smooth. {item.smoothness.value:.2f} (p={_p(item.smoothness.p_value)})",
                fontsize=7,
            )
        axes[row, 0].set_ylabel(_row_label(result.model), fontsize=8)
    bar = fig.colorbar(image, ax=axes, shrink=0.8, label=f"preferred {first[0].parameter}")
    nice = _NICE_FREQUENCIES if values[-1] / values[0] > 100 else _NICE_RATES
    ticks = list(values) if len(values) <= 8 else [v for v in nice if values[0] <= v <= values[-1]]
    bar.ax.yaxis.set_minor_formatter(NullFormatter())
    bar.set_ticks(ticks, labels=[f"{v / 1000:g}k" if v >= 1000 else f"{v:g}" for v in ticks])
    fig.suptitle(
        title or f"{family}: preferred value of every unit on its sheet (rows: models)",
        fontsize=9,
    )
    return save_figure(fig, out)


def plot_category_maps(
    models: Sequence[ModelMaps], contrast: str, out: str | os.PathLike, title: str = ""
) -> Path:
    """d′ maps of ``contrast`` for every layer (rows) of every model (columns).

    One diverging colour scale, symmetric around 0 (to the 98th percentile of |d′|), shared by
    all panels; titles give Moran's I
    with its sheet-permutation p and its label-permutation p (random sound sets of the same
    sizes), and the 5–95 % range of the label null.
    """
    maps = {m.model: [c for c in m.categories if c.contrast == contrast] for m in models}
    fig, axes = _grid(models, [item.dprime for item in maps[models[0].model]], 4)
    every = np.concatenate([c.dprime.ravel() for items in maps.values() for c in items])
    extent = float(np.nanpercentile(np.abs(every), 98))  # a few extreme units saturate
    norm = Normalize(-extent, extent)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.75")
    image = None
    for row, result in enumerate(models):
        for col, item in enumerate(maps[result.model]):
            ax = axes[row, col]
            image = ax.imshow(
                np.ma.masked_invalid(item.dprime), cmap=cmap, norm=norm, interpolation="nearest"
            )
            labels = item.morans_i_labels
            ax.set_title(
                f"{item.layer}\nI={item.morans_i.value:.2f} p_sheet={_p(item.morans_i.p_value)}\n"
                f"p_labels={_p(labels.p_value)}\nrandom sets {labels.null_low:.2f}–"
                f"{labels.null_high:.2f}",
                fontsize=7,
            )
        axes[row, 0].set_ylabel(_row_label(result.model), fontsize=8)
    group = " + ".join(maps[models[0].model][0].group)
    fig.colorbar(image, ax=axes, shrink=0.8, label=f"d′ ({group} vs the rest)")
    fig.suptitle(title or f"{contrast} selectivity (d′) on every sheet (rows: models)", fontsize=9)
    return save_figure(fig, out)


def plot_components(
    models: Sequence[ModelMaps], out: str | os.PathLike, layers: Sequence[str] | None = None
) -> Path:
    """Response components: profile by category (top) and weight maps per layer, per model.

    Each model's block has one column per component; its first row is the component's mean
    response per category, the next rows its weights on each layer's sheet (Moran's I and sheet
    p in the titles). A component's scale is arbitrary (profile × weight), so its weights are
    shown divided by their largest magnitude over the layers drawn, on the block's colour bar.
    """
    found = [m for m in models if m.components is not None]
    if not found:
        raise ValueError("no model has response components (give a labelled sound set)")
    layers = list(layers or found[0].components.weights)
    n_comp = found[0].components.profiles.shape[0]
    fig = plt.figure(
        figsize=(1.5 * n_comp * len(found) + 1.5, 1.4 * len(layers) + 2.6),
        dpi=110,
        layout="constrained",
    )
    blocks = fig.subfigures(1, len(found), squeeze=False)[0]
    for block, result in zip(blocks, found, strict=True):
        comps = result.components
        sheets = [np.asarray(comps.weights[layer], dtype=float) for layer in layers]  # (c, H, W)
        per_component = np.nanmax([np.nanmax(np.abs(w), axis=(1, 2)) for w in sheets], axis=0)
        scale = np.where(per_component > 0, per_component, 1.0)
        norm = Normalize(-1.0 if min(np.nanmin(w) for w in sheets) < 0 else 0.0, 1.0)
        axes = block.subplots(
            len(layers) + 1,
            n_comp,
            squeeze=False,
            gridspec_kw={"height_ratios": [2.0] + [1.0] * len(layers)},
        )
        for index in range(n_comp):
            ax = axes[0, index]
            ax.barh(range(len(comps.categories)), comps.by_category[index], color="0.3")
            ax.set_yticks(range(len(comps.categories)))
            ax.set_yticklabels(comps.categories if index == 0 else [], fontsize=6)
            ax.tick_params(axis="x", labelsize=5)
            ax.invert_yaxis()
            ax.set_title(f"component {index + 1}", fontsize=7)
            for row, layer in enumerate(layers, start=1):
                weights = np.asarray(comps.weights[layer][index], dtype=float) / scale[index]
                stat = comps.morans_i[layer][index]
                panel = axes[row, index]
                image = panel.imshow(
                    np.ma.masked_invalid(weights),
                    cmap=plt.get_cmap("viridis").with_extremes(bad="0.75"),
                    norm=norm,
                    interpolation="nearest",
                )
                panel.set_xticks([])
                panel.set_yticks([])
                panel.set_title(f"{layer} I={stat.value:.2f} p={_p(stat.p_value)}", fontsize=5)
        block.colorbar(image, ax=axes[1:, :], shrink=0.8, label="weight / component's largest")
        block.suptitle(
            f"{result.model}: {comps.method.upper()} components of responses to "
            f"{result.sound_set} (profile by category; weights per sheet)",
            fontsize=8,
        )
    return save_figure(fig, out)


def plot_all(
    models: Sequence[ModelMaps], out_dir: str | os.PathLike, prefix: str = ""
) -> Mapping[str, Path]:
    """Every figure of :func:`~topoaudio_zoo.maps.model_maps` results into ``out_dir``.

    Returns ``{map family: PNG}``: one per stimulus family, per contrast and the components.
    """
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    for family in models[0].tuning:
        name = family.replace(" ", "_")
        written[family] = plot_tuning_maps(models, family, out_dir / f"{prefix}{name}.png")
    for contrast in dict.fromkeys(c.contrast for c in models[0].categories):
        written[contrast] = plot_category_maps(
            models, contrast, out_dir / f"{prefix}{contrast}.png"
        )
    if models[0].components is not None:
        written["components"] = plot_components(models, out_dir / f"{prefix}components.png")
    return written
