"""ESC-50 (Piczak 2015): environmental sound classification with 5-fold cross-validation.

Layout under ``root``: ``ESC-50-master/audio/{fold}-{clip_id}-{take}-{target}.wav`` (5 s,
44.1 kHz) and ``ESC-50-master/meta/esc50.csv`` with columns ``filename, fold, target,
category, esc10, src_file, take``. Clips cut from one Freesound recording share a fold.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .base import AudioDataModule, ClipTable
from .download import Remote, fetch_and_extract, require_paths

__all__ = [
    "ESC50_REMOTE",
    "ESC50DataModule",
    "ESC50Row",
    "esc50_cross_validation",
    "esc50_table",
    "read_esc50",
]

ESC50_REMOTE = Remote(
    url="https://github.com/karoldvl/ESC-50/archive/master.zip",
    filename="ESC-50-master.zip",
    checksum_source="none published: GitHub branch archives are generated on demand",
)
FOLDS = (1, 2, 3, 4, 5)
COLUMNS = ("filename", "fold", "target", "category", "src_file")
EVAL_CROPS = ("start", "center", "loudest")


@dataclass(frozen=True)
class ESC50Row:
    """One clip of ``esc50.csv``: file name, fold (1–5), target (0–49), category, source."""

    filename: str
    fold: int
    target: int
    category: str
    src_file: str


def _paths(root: Path) -> tuple[Path, Path]:
    base = root / "ESC-50-master"
    return base / "meta" / "esc50.csv", base / "audio"


def check_esc50(root: str | Path) -> None:
    """Raise a DatasetNotFoundError listing a missing ``esc50.csv`` or ``audio`` folder."""
    require_paths("ESC-50", root, list(_paths(Path(root))), [ESC50_REMOTE])


def fetch_esc50(root: str | Path) -> None:
    """Download and extract ESC-50 into ``root`` unless its ``esc50.csv`` is there."""
    if not _paths(Path(root))[0].exists():
        fetch_and_extract(ESC50_REMOTE, root)


def read_esc50(root: str | Path) -> tuple[list[ESC50Row], list[str]]:
    """The rows of ``esc50.csv`` and the category names ordered by target.

    Raises:
        DatasetNotFoundError: listing what is missing.
        ValueError: naming the CSV, for missing columns, a fold outside 1–5, a target with two
            category names, or targets that are not 0..n-1.
    """
    root = Path(root)
    check_esc50(root)
    csv_path, _ = _paths(root)
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{csv_path}: missing columns {missing} (needs {list(COLUMNS)})")
        rows = []
        for line, record in enumerate(reader, start=2):
            try:
                row = ESC50Row(
                    record["filename"],
                    int(record["fold"]),
                    int(record["target"]),
                    record["category"],
                    record["src_file"],
                )
            except ValueError as err:
                raise ValueError(f"{csv_path}, line {line}: {err}") from err
            if row.fold not in FOLDS:
                raise ValueError(f"{csv_path}, line {line}: fold {row.fold} is not in 1–5")
            rows.append(row)
    names: dict[int, str] = {}
    for row in rows:
        if names.setdefault(row.target, row.category) != row.category:
            raise ValueError(
                f"{csv_path}: target {row.target} is both {names[row.target]!r} and "
                f"{row.category!r}"
            )
    if sorted(names) != list(range(len(names))):
        raise ValueError(f"{csv_path}: targets must be 0..{len(names) - 1}, got {sorted(names)}")
    return rows, [names[t] for t in range(len(names))]


def esc50_table(root: str | Path, rows: Iterable[ESC50Row]) -> ClipTable:
    """A table (task ``"category"``) of ``rows``; keys are the file names."""
    rows = list(rows)
    _, audio = _paths(Path(root))
    return ClipTable.build(
        [str(audio / r.filename) for r in rows],
        [r.filename for r in rows],
        {"category": [r.target for r in rows]},
    )


def _check_fold(name: str, fold: int) -> int:
    if fold not in FOLDS:
        raise ValueError(f"{name}: expected a fold in 1–5, got {fold!r}")
    return fold


def split_by_source(
    rows: Sequence[ESC50Row], fraction: float, seed: int
) -> tuple[list[ESC50Row], list[ESC50Row]]:
    """Hold out ``fraction`` of the source recordings of each category (seeded).

    Clips of one ``src_file`` stay together. Returns ``(kept, held_out)``.
    """
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for category in sorted({r.category for r in rows}):
        sources = sorted({r.src_file for r in rows if r.category == category})
        n = min(len(sources) - 1, math.ceil(fraction * len(sources)))
        held.update(sources[i] for i in rng.permutation(len(sources))[:n])
    return [r for r in rows if r.src_file not in held], [r for r in rows if r.src_file in held]


class ESC50DataModule(AudioDataModule):
    """ESC-50, task ``"category"`` (50 classes), one fold of the 5-fold protocol.

    Splits: test = fold ``test_fold``; train = the four other folds. Validation: with
    ``val_fraction=0`` (default) it is the test fold itself (the usual ESC-50 practice: no
    model selection should then be done on it); with ``val_fraction > 0`` it is that fraction of
    the training folds' source recordings per category (seeded, all clips of a recording
    together), removed from training.

    Clips (5 s, 44.1 kHz) are resampled to 20 kHz; training takes a random 2-s window; val/test
    take the window given by ``eval_crop``: ``"loudest"`` (default: the 2 s of highest energy,
    since many clips are a short event followed by digital silence), ``"center"`` or
    ``"start"``.

    Args:
        root: folder holding ``ESC-50-master``.
        test_fold: 1–5.
        val_fraction: see above, 0 ≤ val_fraction < 1.
        eval_crop: ``"loudest"``, ``"center"`` or ``"start"``.
        loader: the loader options of :class:`~.base.AudioDataModule` (rates, batch size,
            workers, seed, download, cache, augmentation), as keywords.
    """

    def __init__(
        self,
        root: str,
        test_fold: int = 1,
        val_fraction: float = 0.0,
        eval_crop: str = "loudest",
        **loader: Any,
    ):
        super().__init__(**loader)
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction: expected 0 ≤ val_fraction < 1, got {val_fraction!r}")
        if eval_crop not in EVAL_CROPS:
            raise ValueError(f"eval_crop: expected one of {EVAL_CROPS}, got {eval_crop!r}")
        self.save_hyperparameters()
        self.root = Path(root)
        self.test_fold = _check_fold("test_fold", test_fold)
        self.val_fraction = float(val_fraction)
        self.eval_placement = eval_crop

    def _cache_groups(self, splits: dict[str, ClipTable]) -> dict[str, list[ClipTable]]:
        return {"esc50": list(splits.values())}

    def _fetch(self) -> None:
        fetch_esc50(self.root)

    def _check_present(self) -> None:
        check_esc50(self.root)

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        rows, classes = read_esc50(self.root)
        test = [r for r in rows if r.fold == self.test_fold]
        train = [r for r in rows if r.fold != self.test_fold]
        val = test
        if self.val_fraction > 0:
            train, val = split_by_source(train, self.val_fraction, self.seed)
        tables = {
            "train": esc50_table(self.root, train),
            "val": esc50_table(self.root, val),
            "test": esc50_table(self.root, test),
        }
        return tables, {"category": classes}


def esc50_cross_validation(
    make_datamodule: Callable[[int], AudioDataModule],
    run_fold: Callable[[AudioDataModule], float],
    folds: Sequence[int] = FOLDS,
) -> dict:
    """Run the 5-fold protocol: train and evaluate once per test fold.

    Args:
        make_datamodule: ``test_fold → DataModule`` (e.g.
            ``lambda f: ESC50DataModule(root, test_fold=f)``).
        run_fold: trains on the DataModule's training split and returns the test accuracy
            (a fraction in 0..1).
        folds: the test folds to run (all five by default).

    Returns:
        ``{"folds": {fold: accuracy}, "mean": mean accuracy, "std": sample standard deviation
        (0.0 for one fold)}``.
    """
    if not folds:
        raise ValueError("folds: expected at least one fold")
    accuracies = {}
    for fold in folds:
        _check_fold("folds", fold)
        accuracies[fold] = float(run_fold(make_datamodule(fold)))
    values = list(accuracies.values())
    return {
        "folds": accuracies,
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }
