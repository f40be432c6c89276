"""``topoaudio-zoo report MODEL --baseline MODEL --out DIR``: one page (Markdown + HTML): accuracy,
smoothness, every map, brain scores.

Accuracy (the metrics recorded in each model's config), weight smoothness of every topographic
layer, every map of ``topoaudio-zoo maps`` with its statistics and figures and, when brain
scores exist (--brain: the folder the brain-predictivity command writes, default
checkpoints/brain, whose brain.md is included; or JSON files of scores), those scores. Writes
DIR/report.md (figures beside it) and DIR/report.html (figures embedded, a single file).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
from pathlib import Path

from .command import add_command
from .maps import add_map_options, compute_maps

_BRAIN_DEFAULT = Path("checkpoints/brain")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "report", __doc__, run)
    add_map_options(parser)
    parser.add_argument(
        "--brain",
        type=Path,
        default=None,
        help=f"brain-score JSON file or folder of them (default: {_BRAIN_DEFAULT} if present)",
    )


def _accuracy_section(names: list[str]) -> list[str]:
    from ..zoo.registry import from_pretrained

    metrics = {name: from_pretrained(name).config.get("metrics") or {} for name in names}
    keys = sorted({key for values in metrics.values() for key in values})
    lines = ["## Accuracy", ""]
    if not keys:
        return [*lines, "No accuracy is recorded in these models' configs.", ""]
    lines += ["| metric | " + " | ".join(f"`{n}`" for n in names) + " |"]
    lines += ["|---|" + "---|" * len(names)]
    for key in keys:
        cells = [f"{metrics[n][key]['value']:.1%}" if key in metrics[n] else "—" for n in names]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    protocols = {v["protocol"] for m in metrics.values() for v in m.values() if "protocol" in v}
    lines += ["", *(f"Protocol: {p}." for p in sorted(protocols)), ""]
    return lines


def _weight_smoothness_section(names: list[str]) -> list[str]:
    from ..maps import topographic_layers
    from ..topography import weight_smoothness
    from ..zoo.registry import from_pretrained

    models = {name: from_pretrained(name) for name in names}
    layers = topographic_layers(models[names[0]])
    lines = ["## Weight smoothness (TDANN) of every topographic layer", ""]
    lines += ["| layer | " + " | ".join(f"`{n}`" for n in names) + " |"]
    lines += ["|---|" + "---|" * len(names)]
    for layer in layers:
        cells = []
        for model in models.values():
            module = dict(model.backbone.named_modules()).get(layer)
            cells.append(f"{weight_smoothness(module):.3f}" if module is not None else "—")
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _flat_scalars(value: object, prefix: str = "", depth: int = 0) -> list[tuple[str, object]]:
    if isinstance(value, dict) and depth < 4:
        items = []
        for key, inner in value.items():
            items += _flat_scalars(inner, f"{prefix}.{key}" if prefix else str(key), depth + 1)
        return items
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return [(prefix, value)]
    return []


def _brain_summary(markdown: Path, names: list[str]) -> list[str]:
    """The brain command's Markdown summary, headings one level down, figures left out."""
    text = markdown.read_text()
    if not any(name in text for name in names):
        return []
    lines = ["## Brain predictivity", "", f"From `{markdown}`:", ""]
    for line in text.splitlines():
        if line.startswith(("![", "# ")):  # its figures, and its title (the section's heading)
            continue
        lines.append("#" + line if line.startswith("#") else line)
    return [*lines, ""]


def _brain_section(path: Path | None, names: list[str]) -> list[str]:
    source = path if path is not None else _BRAIN_DEFAULT
    if path is not None and not source.exists():
        raise FileNotFoundError(f"--brain: {source} does not exist")
    if source.is_dir() and (source / "brain.md").is_file():
        return _brain_summary(source / "brain.md", names)
    files = sorted(source.glob("*.json")) if source.is_dir() else [source]
    files = [f for f in files if f.is_file() and any(n in f.read_text() for n in names)]
    if not files:
        return []
    lines = ["## Brain predictivity", ""]
    for file in files:
        scalars = _flat_scalars(json.loads(file.read_text()))[:60]
        lines += [f"From `{file}`:", "", "| field | value |", "|---|---|"]
        for key, value in scalars:
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"| {key} | {shown} |")
        lines.append("")
    return lines


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def markdown_to_html(markdown: str, folder: Path, title: str) -> str:
    """The subset of Markdown the report uses (headings, tables, images, paragraphs) as HTML.

    Images are read from ``folder`` and embedded as base64 PNG data.
    """
    body: list[str] = []
    table: list[str] = []

    def flush_table() -> None:
        if not table:
            return
        rows = [row.strip().strip("|").split("|") for row in table if not set(row) <= set("|-")]
        head, *rest = rows
        body.append("<table><tr>" + "".join(f"<th>{_inline(c.strip())}</th>" for c in head))
        for row in rest:
            body.append("<tr>" + "".join(f"<td>{_inline(c.strip())}</td>" for c in row) + "</tr>")
        body.append("</table>")
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        image = re.fullmatch(r"!\[(.*)\]\((.+)\)", line.strip())
        if image:
            data = base64.b64encode((folder / image.group(2)).read_bytes()).decode()
            body.append(
                f'<p><img alt="{html.escape(image.group(1))}" '
                f'src="data:image/png;base64,{data}" style="max-width:100%"></p>'
            )
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px}"
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def run(args: argparse.Namespace) -> int:
    from ..atomic import atomic_write_text
    from ..maps.summary import maps_markdown, write_maps

    names = [args.model] + ([args.baseline] if args.baseline else [])
    brain = _brain_section(args.brain, names)
    results = compute_maps(args)
    written = write_maps(results, args.out)
    figures = {path.stem.replace("_", " "): path.name for path in written if path.suffix == ".png"}
    maps_text = maps_markdown(results, figures).replace("# Cortical maps", "## Cortical maps", 1)
    maps_text = re.sub(r"^## ", "### ", maps_text, flags=re.MULTILINE).replace(
        "### Cortical maps", "## Cortical maps", 1
    )
    title = f"Report: {args.model}" + (f" vs {args.baseline}" if args.baseline else "")
    page = "\n".join(
        [
            f"# {title}",
            "",
            *_accuracy_section(names),
            *_weight_smoothness_section(names),
            maps_text,
            *brain,
        ]
    )
    markdown_path = args.out / "report.md"
    html_path = args.out / "report.html"
    atomic_write_text(markdown_path, page)
    atomic_write_text(html_path, markdown_to_html(page, args.out, title))
    print("\n".join(f"wrote {path}" for path in [*written, markdown_path, html_path]))
    return 0
