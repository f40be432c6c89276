"""Any labelled sound collection: one folder per class, or a CSV of ``path,label``."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..audio import AUDIO_EXTENSIONS
from .base import AudioDataModule, ClipTable
from .download import require_paths

__all__ = ["AUDIO_EXTENSIONS", "AudioFolderDataModule", "read_audio_folder", "stratified_split"]


def read_audio_folder(
    root: str | Path, csv_path: str | None = None
) -> tuple[list[tuple[str, str, int]], list[str]]:
    """The labelled files and the sorted class names.

    Without ``csv_path``: each sub-folder of ``root`` is a class holding audio files (every
    extension of a format soundfile reads, :data:`~topoaudio_zoo.audio.AUDIO_EXTENSIONS`:
    ``.wav .flac .ogg .oga .opus .mp3 .aiff .au`` ..., searched recursively); files directly
    under ``root`` are ignored. Unreadable files are found when loaded (see ``skip_bad``).
    With ``csv_path`` (relative to ``root`` or absolute): rows ``path,label`` (a header row
    ``path,label`` is allowed), paths relative to the CSV's folder.

    Returns:
        ``([(absolute path, key, class index)], classes)``; keys are paths relative to the root
        (folder mode) or as written in the CSV.

    Raises:
        DatasetNotFoundError: when ``root`` or the CSV does not exist.
        ValueError: naming an empty class folder, a malformed CSV line, or a listed file that
            does not exist.
    """
    root = Path(root)
    if csv_path is None:
        require_paths("audio folder", root, [root], [])
        entries = []
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not folders:
            raise ValueError(f"{root}: no class folders (expected {root}/<class>/*.wav)")
        for folder in folders:
            files = sorted(
                p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
            )
            if not files:
                raise ValueError(
                    f"{folder}: empty class folder (no audio file: {' '.join(AUDIO_EXTENSIONS)})"
                )
            entries += [(str(p), p.relative_to(root).as_posix(), folder.name) for p in files]
    else:
        table = Path(csv_path) if Path(csv_path).is_absolute() else root / csv_path
        require_paths("audio CSV", root, [table], [])
        entries = []
        with open(table, newline="") as f:
            for line, row in enumerate(csv.reader(f), start=1):
                if not row or (line == 1 and [c.strip() for c in row] == ["path", "label"]):
                    continue
                if len(row) != 2 or not row[0].strip() or not row[1].strip():
                    raise ValueError(f"{table}, line {line}: expected 'path,label', got {row}")
                path = table.parent / row[0].strip()
                if not path.is_file():
                    raise ValueError(f"{table}, line {line}: no such file {path}")
                entries.append((str(path), row[0].strip(), row[1].strip()))
        if not entries:
            raise ValueError(f"{table}: no rows")
    classes = sorted({label for _, _, label in entries})
    index = {c: i for i, c in enumerate(classes)}
    return [(path, key, index[label]) for path, key, label in entries], classes


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A seeded mask of the examples held out: ``round(fraction × n)`` of each class's ``n``.

    At least one example of a class with two or more is held out when ``fraction > 0``, and
    at least one always stays.
    """
    rng = np.random.default_rng(seed)
    held = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n = len(members)
        k = min(n - 1, max(1 if fraction > 0 else 0, math.floor(fraction * n + 0.5)))
        held[rng.permutation(members)[:k]] = True
    return held


def audio_folder_tables(
    root: str | Path, csv_path: str | None, val_fraction: float, seed: int
) -> tuple[dict[str, ClipTable], list[str]]:
    """Train/val tables (task ``"label"``) of :func:`read_audio_folder`; test = val."""
    entries, classes = read_audio_folder(root, csv_path)
    table = ClipTable.build(
        [e[0] for e in entries], [e[1] for e in entries], {"label": [e[2] for e in entries]}
    )
    held = stratified_split(table.targets["label"], val_fraction, seed)
    val = table.subset(np.flatnonzero(held))
    return {"train": table.subset(np.flatnonzero(~held)), "val": val, "test": val}, classes


class AudioFolderDataModule(AudioDataModule):
    """A labelled sound collection, task ``"label"`` (classes sorted by name).

    Splits: a seeded stratified ``val_fraction`` of every class is validation (see
    :func:`stratified_split`); the rest is training. There is no separate test set: the test
    (and predict) loaders give the validation split. Training takes a random 2-s window (or a
    random position of a shorter sound); val/test the centre.

    Args:
        root: folder of class folders, or the folder the CSV's paths are relative to.
        csv: ``None`` (folder mode) or a CSV of ``path,label`` (see :func:`read_audio_folder`).
        val_fraction: 0 ≤ val_fraction < 1.
        loader: the loader options of :class:`~.base.AudioDataModule` (rates, batch size,
            workers, seed, cache, augmentation), as keywords; ``download`` is not supported.
    """

    eval_placement = "center"

    def __init__(
        self,
        root: str,
        csv: str | None = None,
        val_fraction: float = 0.2,
        **loader: Any,
    ):
        super().__init__(**loader)
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction: expected 0 ≤ val_fraction < 1, got {val_fraction!r}")
        self.save_hyperparameters()
        self.root = Path(root)
        self.csv = csv
        self.val_fraction = float(val_fraction)

    def _cache_groups(self, splits: dict[str, ClipTable]) -> dict[str, list[ClipTable]]:
        return {"audio_folder": list(splits.values())}

    def _fetch(self) -> None:
        raise ValueError(f"download: an audio folder ({self.root}) cannot be downloaded")

    def _check_present(self) -> None:
        paths = [self.root] if self.csv is None else [self.root / self.csv]
        require_paths("audio folder", self.root, paths, [])

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        tables, classes = audio_folder_tables(self.root, self.csv, self.val_fraction, self.seed)
        return tables, {"label": classes}
