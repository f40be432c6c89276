"""NSynth (Engel et al. 2017), the "jsonwav" release: instrument family or pitch of a note.

Layout under ``root``: ``nsynth-{train,valid,test}/examples.json`` (a dict keyed by note id with
fields ``note_str``, ``pitch``, ``instrument_family``, ``instrument_family_str``, ...) and
``nsynth-{split}/audio/{note_str}.wav`` (4 s, 16 kHz). No instrument is shared between train and
valid/test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import AudioDataModule, ClipTable
from .download import Remote, fetch_and_extract, require_paths

__all__ = ["NSYNTH_REMOTES", "NSynthDataModule", "read_nsynth"]

_CHECKSUM_SOURCE = "hearbenchmark/hear-preprocess, hearpreprocess/nsynth_pitch.py (download_urls)"
NSYNTH_REMOTES = {
    split: Remote(
        url=f"http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{split}.jsonwav.tar.gz",
        filename=f"nsynth-{split}.jsonwav.tar.gz",
        md5=md5,
        checksum_source=_CHECKSUM_SOURCE,
    )
    for split, md5 in (
        ("train", "fde6665a93865503ba598b9fac388660"),
        ("valid", "87e94a00a19b6dbc99cf6d4c0c0cae87"),
        ("test", "5e6f8719bf7e16ad0a00d518b78af77d"),
    )
}
FOLDERS = {"train": "nsynth-train", "val": "nsynth-valid", "test": "nsynth-test"}
TARGETS = ("instrument_family", "pitch")


def _required(root: Path) -> list[Path]:
    return [
        root / folder / name for folder in FOLDERS.values() for name in ("examples.json", "audio")
    ]


def check_nsynth(root: str | Path) -> None:
    """Raise a DatasetNotFoundError listing the missing ``examples.json`` / ``audio`` of splits."""
    remotes = list(NSYNTH_REMOTES.values())
    make = f"topoaudio-zoo make-corpus nsynth {root}"
    require_paths("NSynth (jsonwav)", root, _required(Path(root)), remotes, make)


def fetch_nsynth(root: str | Path) -> None:
    """Download and extract the NSynth splits whose ``examples.json`` is missing into ``root``."""
    root = Path(root)
    for split, remote in NSYNTH_REMOTES.items():
        if not (root / f"nsynth-{split}" / "examples.json").exists():
            fetch_and_extract(remote, root)


def read_nsynth(
    root: str | Path, target: str = "instrument_family"
) -> tuple[dict[str, ClipTable], list[str]]:
    """The notes of each split (``"train"``, ``"val"``, ``"test"``) and the class names.

    Classes come from the data: family names (``instrument_family_str``) over the union of the
    splits ordered by family id, or the pitches (MIDI numbers as strings) of the union in
    increasing order. A class may be absent from a split (synth_lead from valid/test).

    Raises:
        DatasetNotFoundError: listing missing split files.
        ValueError: naming the file, for an unreadable ``examples.json``, a note without the
            needed fields, or one family id with two names.
    """
    root = Path(root)
    check_nsynth(root)
    target = _check_target(target)
    notes: dict[str, list[tuple[str, int, str]]] = {}
    for split, folder in FOLDERS.items():
        path = root / folder / "examples.json"
        try:
            examples = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: unreadable examples.json ({err})") from err
        if not isinstance(examples, dict):
            raise ValueError(f"{path}: expected a JSON object keyed by note id")
        rows = []
        for note_id in sorted(examples):
            note = examples[note_id]
            try:
                rows.append(
                    (
                        str(note["note_str"]),
                        int(note[target]),
                        str(note.get(f"{target}_str", note[target])),
                    )
                )
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(
                    f"{path}: note {note_id!r} lacks a valid note_str or {target} ({err})"
                ) from err
        notes[split] = rows
    names: dict[int, str] = {}
    for split, rows in notes.items():
        for note_str, label, label_str in rows:
            if names.setdefault(label, label_str) != label_str:
                raise ValueError(
                    f"{root / FOLDERS[split] / 'examples.json'}: {target} {label} is called both "
                    f"{names[label]!r} and {label_str!r} (note {note_str})"
                )
    ids = sorted(names)
    position = {label: i for i, label in enumerate(ids)}
    tables = {
        split: ClipTable.build(
            [str(root / FOLDERS[split] / "audio" / f"{n}.wav") for n, _, _ in rows],
            [n for n, _, _ in rows],
            {target: [position[label] for _, label, _ in rows]},
        )
        for split, rows in notes.items()
    }
    return tables, [names[label] for label in ids]


def _check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"target: expected one of {TARGETS}, got {target!r}")
    return target


class NSynthDataModule(AudioDataModule):
    """NSynth notes, task ``"instrument_family"`` or ``"pitch"`` (the ``target`` argument).

    Official splits: train / valid / test (instrument-disjoint). Notes (4 s, 16 kHz) are
    resampled to 20 kHz; training takes a random 2-s window, val/test the first 2 s.

    Args:
        root: folder holding ``nsynth-train``, ``nsynth-valid``, ``nsynth-test``.
        target: ``"instrument_family"`` (11 families in the real data) or ``"pitch"``.
        loader: the loader options of :class:`~.base.AudioDataModule` (rates, batch size,
            workers, seed, download, cache, augmentation), as keywords.
    """

    eval_placement = "start"

    def __init__(
        self,
        root: str,
        target: str = "instrument_family",
        **loader: Any,
    ):
        super().__init__(**loader)
        self.save_hyperparameters()
        self.root = Path(root)
        self.target = _check_target(target)

    def _fetch(self) -> None:
        fetch_nsynth(self.root)

    def _check_present(self) -> None:
        check_nsynth(self.root)

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        tables, classes = read_nsynth(self.root, self.target)
        return tables, {self.target: classes}
