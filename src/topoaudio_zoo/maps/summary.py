"""Writing map results: ``maps.json``, one PNG per map family and a Markdown summary."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_write_text
from .model_maps import ModelMaps
from .plots import plot_all
from .stats import MapStatistic

__all__ = ["maps_markdown", "write_maps"]


def _stat(stat: MapStatistic) -> str:
    """``0.42 (p 0.001)``; significant at 0.01 in bold."""
    if stat.value != stat.value:  # NaN
        return "n/a"
    text = f"{stat.value:.2f} (p {stat.p_value:.3f})"
    return f"**{text}**" if stat.p_value < 0.01 else text


def maps_markdown(results: Sequence[ModelMaps], figures: dict[str, str] | None = None) -> str:
    """Markdown tables of every map's statistics, one table per map family, models side by side.

    Bold: p < 0.01 against the null named in the table. ``figures``: ``{family: relative PNG
    path}`` shown under each table.
    """
    figures = figures or {}
    names = [result.model for result in results]
    lines = [
        "# Cortical maps with statistics",
        "",
        f"Models: {', '.join(f'`{name}`' for name in names)}. Every statistic is one-sided "
        f"against {results[0].n_permutations} permutations: `sheet` = the units shuffled on "
        "their sheet, `labels` = random sound sets of the group's size. Bold: p < 0.01. "
        "I = Moran's I (8 neighbours) of the map; smoothness = TDANN smoothness of the "
        "units' responses (tuning curves, or responses to the labelled sounds).",
        "",
    ]

    def header(columns: list[str], first: str = "layer") -> list[str]:
        return [
            f"| {first} | " + " | ".join(columns) + " |",
            "|---|" + "---|" * len(columns),
        ]

    for family in results[0].tuning:
        lines += [f"## {family}", ""]
        lines += header([f"{n}: I, sheet" for n in names] + [f"{n}: smoothness" for n in names])
        for row, item in enumerate(results[0].tuning[family]):
            maps = [result.tuning[family][row] for result in results]
            cells = [_stat(m.morans_i) for m in maps] + [_stat(m.smoothness) for m in maps]
            lines.append(f"| {item.layer} | " + " | ".join(cells) + " |")
        lines += _figure(figures, family)
    contrasts = list(dict.fromkeys(c.contrast for c in results[0].categories))
    for contrast in contrasts:
        per_model = [[c for c in r.categories if c.contrast == contrast] for r in results]
        group = " + ".join(per_model[0][0].group)
        lines += [f"## {contrast} ({group}, d′ vs the rest, {results[0].sound_set})", ""]
        lines += header([f"{n}: I, sheet" for n in names] + [f"{n}: I, labels" for n in names])
        for row, item in enumerate(per_model[0]):
            maps = [items[row] for items in per_model]
            cells = [_stat(m.morans_i) for m in maps] + [
                f"{_stat(m.morans_i_labels)} [random sets {m.morans_i_labels.null_low:.2f}–"
                f"{m.morans_i_labels.null_high:.2f}]"
                for m in maps
            ]
            lines.append(f"| {item.layer} | " + " | ".join(cells) + " |")
        lines += _figure(figures, contrast)
    if results[0].natural_smoothness:
        lines += [f"## Smoothness of the responses to {results[0].sound_set}", ""]
        lines += header(names)
        for layer in results[0].natural_smoothness:
            cells = [_stat(result.natural_smoothness[layer]) for result in results]
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
        lines.append("")
    with_components = [result for result in results if result.components is not None]
    if with_components:
        method = with_components[0].components.method.upper()
        lines += [f"## Response components ({method})", ""]
        for result in with_components:
            comps = result.components
            lines += [f"`{result.model}`: mean profile per category (columns: components)", ""]
            count = comps.profiles.shape[0]
            lines += header([f"c{i + 1}" for i in range(count)], "category")
            for index, category in enumerate(comps.categories):
                cells = [f"{value:.2f}" for value in comps.by_category[:, index]]
                lines.append(f"| {category} | " + " | ".join(cells) + " |")
            lines += [
                "",
                f"Moran's I of each component's weights (`{result.model}`, sheet null):",
                "",
            ]
            lines += header([f"c{i + 1}" for i in range(count)])
            for layer, stats in comps.morans_i.items():
                lines.append(f"| {layer} | " + " | ".join(_stat(s) for s in stats) + " |")
            lines.append("")
        lines += _figure(figures, "components")
    return "\n".join(lines).rstrip() + "\n"


def _figure(figures: dict[str, str], family: str) -> list[str]:
    if family not in figures:
        return [""]
    return ["", f"![{family}]({figures[family]})", ""]


def write_maps(results: Sequence[ModelMaps], out: str | os.PathLike) -> list[Path]:
    """``maps.json``, the PNGs and ``maps.md`` of ``results`` into folder ``out``.

    ``maps.json``: ``{"models": [ModelMaps.to_dict(), ...]}`` in the order of ``results``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figures = plot_all(results, out)
    json_path = out / "maps.json"
    payload = {"models": [result.to_dict() for result in results]}
    atomic_write_text(json_path, json.dumps(payload, indent=1, allow_nan=False) + "\n")
    markdown = out / "maps.md"
    relative = {family: path.name for family, path in figures.items()}
    atomic_write_text(markdown, maps_markdown(results, relative))
    return [json_path, markdown, *figures.values()]
