"""Reading the background corpus of ``topoaudio-zoo make-corpus backgrounds`` (its
``manifest.csv``) into clip tables with a ``"category"`` target."""

from __future__ import annotations

import csv
from pathlib import Path

from .base import ClipTable
from .corpora.backgrounds import BACKGROUND_SPLITS, COMPLETE
from .corpora.categories import CATEGORIES
from .download import require_paths

__all__ = ["check_background_corpus", "read_background_corpus"]

MAKE = "topoaudio-zoo make-corpus backgrounds {root}"


def check_background_corpus(root: str | Path) -> None:
    """Raise :class:`~.download.DatasetNotFoundError` when ``root`` lacks the manifest or the
    ``COMPLETE`` marker (an unfinished rendering), naming the command that renders (or resumes)
    it."""
    root = Path(root)
    paths = [root / "manifest.csv", root / COMPLETE]
    require_paths("background corpus", root, paths, [], make=MAKE.format(root=root))


def read_background_corpus(root: str | Path) -> tuple[dict[str, ClipTable], list[str]]:
    """Train/val/test tables (target ``"category"``) and the class names.

    Classes are the categories with training clips, in the canonical order of
    :data:`~.corpora.categories.CATEGORIES`.

    Raises:
        DatasetNotFoundError: see :func:`check_background_corpus`.
        ValueError: naming the manifest when a val/test category has no training clip or a row
            names an unknown split or category.
    """
    root = Path(root)
    check_background_corpus(root)
    manifest = root / "manifest.csv"
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["split"] not in BACKGROUND_SPLITS or row["category"] not in CATEGORIES:
            raise ValueError(
                f"{manifest}: clip {row['clip']} has split {row['split']!r} and category "
                f"{row['category']!r}; expected a split of {BACKGROUND_SPLITS} and a category "
                f"of {list(CATEGORIES)}"
            )
    trained = {r["category"] for r in rows if r["split"] == "train"}
    classes = [c for c in CATEGORIES if c in trained]
    untrained = sorted({r["category"] for r in rows} - trained)
    if untrained:
        raise ValueError(f"{manifest}: categories {untrained} have no training clip")
    index = {c: i for i, c in enumerate(classes)}
    tables = {}
    for split in BACKGROUND_SPLITS:
        chosen = [r for r in rows if r["split"] == split]
        tables[split] = ClipTable.build(
            [str(root / r["clip"]) for r in chosen],
            [r["clip"] for r in chosen],
            {"category": [index[r["category"]] for r in chosen]},
        )
    return tables, classes
