"""Speech Commands v0.02 (Warden 2018): layout, official splits, V2-35 and V2-12 protocols.

Layout under ``root``: ``<word>/<speakerhash>_nohash_<n>.wav`` (16 kHz, ≤ 1 s),
``validation_list.txt`` and ``testing_list.txt`` (paths relative to ``root``), and
``_background_noise_/*.wav`` (long noise recordings). Training is every word clip in neither
list. Speakers never cross the official splits. The offline corpora of ``topoaudio-zoo
make-corpus`` add ``speakers.tsv`` (speaker, engine, voice, variant, split), read by
:func:`heldout_engine_speakers`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .base import AudioDataModule, ClipTable
from .download import Remote, fetch_and_extract, require_paths

__all__ = [
    "SPEECH_COMMANDS_REMOTE",
    "V2_12_COMMANDS",
    "SpeechClip",
    "SpeechCommandsDataModule",
    "heldout_engine_speakers",
    "scan_speech_commands",
]

SPEECH_COMMANDS_REMOTE = Remote(
    url="http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
    filename="speech_commands_v0.02.tar.gz",
    sha256="af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58",
    checksum_source="torchaudio 2.11, torchaudio/datasets/speechcommands.py (_CHECKSUMS)",
)
BACKGROUND_NOISE = "_background_noise_"
V2_12_COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN = "_unknown_"
SILENCE = "_silence_"
PROTOCOLS = ("v2-35", "v2-12")


@dataclass(frozen=True)
class SpeechClip:
    """One word clip: ``path`` (absolute), ``key`` (``word/file.wav``), ``word``, ``speaker``."""

    path: str
    key: str
    word: str
    speaker: str


def _required(root: Path) -> list[Path]:
    return [root / "validation_list.txt", root / "testing_list.txt"]


def check_speech_commands(root: str | Path, background_noise: bool = False) -> None:
    """Raise a DatasetNotFoundError listing the missing split lists (and noise folder)."""
    root = Path(root)
    paths = _required(root) + ([root / BACKGROUND_NOISE] if background_noise else [])
    make = f"topoaudio-zoo make-corpus speech-commands {root}"
    require_paths("Speech Commands v0.02", root, paths, [SPEECH_COMMANDS_REMOTE], make)


def fetch_speech_commands(root: str | Path) -> None:
    """Download and extract Speech Commands v0.02 into ``root`` unless its lists are there."""
    root = Path(root)
    if not all(p.exists() for p in _required(root)):
        fetch_and_extract(SPEECH_COMMANDS_REMOTE, root)


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def heldout_engine_speakers(root: str | Path) -> dict[str, set[str]]:
    """The speakers of every engine with no speaker in training, by engine, from the
    ``speakers.tsv`` of an offline corpus; ``{}`` when the corpus has none (the real release).

    Raises:
        ValueError: naming the file, when it lacks the speaker, engine or split column.
    """
    path = Path(root) / "speakers.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if rows and not {"speaker", "engine", "split"} <= set(rows[0]):
        raise ValueError(f"{path}: expected the columns speaker, engine and split")
    trained = {r["engine"] for r in rows if r["split"] == "training"}
    held: dict[str, set[str]] = {}
    for row in rows:
        if row["engine"] not in trained:
            held.setdefault(row["engine"], set()).add(row["speaker"])
    return held


def scan_speech_commands(root: str | Path) -> tuple[dict[str, list[SpeechClip]], list[str]]:
    """The word clips of each official split and the sorted word list.

    Returns:
        ``({"train": [...], "val": [...], "test": [...]}, words)``; clips sorted by key. Words
        are the folders holding WAVs (``_background_noise_`` and hidden folders excluded).

    Raises:
        DatasetNotFoundError: when a split list is missing.
        ValueError: naming the file, for a clip not named ``<speaker>_nohash_<n>.wav``, a
            listed path that does not exist, or a path in both lists.
    """
    root = Path(root)
    check_speech_commands(root)
    clips: dict[str, SpeechClip] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name == BACKGROUND_NOISE or folder.name.startswith("."):
            continue
        for path in sorted(folder.glob("*.wav")):
            if "_nohash_" not in path.name:
                raise ValueError(
                    f"{path}: expected a Speech Commands name <speakerhash>_nohash_<n>.wav"
                )
            key = f"{folder.name}/{path.name}"
            clips[key] = SpeechClip(str(path), key, folder.name, path.name.split("_nohash_", 1)[0])
    words = sorted({c.word for c in clips.values()})
    if not words:
        raise ValueError(f"{root}: no word folders with WAV files")
    lists = {}
    for split, name in (("val", "validation_list.txt"), ("test", "testing_list.txt")):
        listed = _read_list(root / name)
        missing = [k for k in listed if k not in clips]
        if missing:
            raise ValueError(
                f"{root / name}: {len(missing)} listed clips do not exist under {root} "
                f"(first: {missing[0]})"
            )
        lists[split] = set(listed)
    both = lists["val"] & lists["test"]
    if both:
        raise ValueError(f"{root}: {len(both)} clips are in both lists (first: {min(both)})")
    splits: dict[str, list[SpeechClip]] = {"train": [], "val": [], "test": []}
    for key in sorted(clips):
        split = "val" if key in lists["val"] else "test" if key in lists["test"] else "train"
        splits[split].append(clips[key])
    return splits, words


class SpeechCommandsDataModule(AudioDataModule):
    """Speech Commands v0.02 keyword classification, task ``"word"``.

    Protocols:

    - ``"v2-35"``: every word folder is a class (35 in the real data), sorted by name.
    - ``"v2-12"``: classes ``yes no up down left right on off stop go _unknown_ _silence_``
      (in that order). ``_unknown_`` holds every clip of the other words (not subsampled).
      ``_silence_`` holds ``ceil(silence_fraction × word clips of the split)`` 1-s segments of
      the ``_background_noise_`` recordings, assigned to the files in turn; the segment start
      is random at each draw in training and fixed per example (from ``seed``) in val/test.

    Splits are the official lists (speaker-disjoint). The 1-s clips (16 kHz → 20 kHz) sit at a
    random position of the 2-s clip in training and in the centre in val/test. Speaker ids of
    the word clips are in :attr:`clips` (and from :func:`scan_speech_commands`).

    Args:
        root: folder holding the word folders and the split lists.
        protocol: ``"v2-35"`` or ``"v2-12"``.
        silence_fraction: V2-12 ``_silence_`` examples per word clip of each split.
        loader: the loader options of :class:`~.base.AudioDataModule` (rates, batch size,
            workers, seed, download, cache, augmentation), as keywords.
    """

    eval_placement = "center"

    def __init__(
        self,
        root: str,
        protocol: str = "v2-35",
        silence_fraction: float = 0.1,
        **loader: Any,
    ):
        super().__init__(**loader)
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol: expected one of {PROTOCOLS}, got {protocol!r}")
        if not 0 <= silence_fraction <= 1:
            raise ValueError(f"silence_fraction: expected 0..1, got {silence_fraction!r}")
        self.save_hyperparameters()
        self.root = Path(root)
        self.protocol = protocol
        self.silence_fraction = float(silence_fraction)

    def _cache_name(self) -> str:
        return f"speech_commands-{self.protocol}"

    def _fetch(self) -> None:
        fetch_speech_commands(self.root)

    def _check_present(self) -> None:
        check_speech_commands(self.root, background_noise=self.protocol == "v2-12")

    @cached_property
    def clips(self) -> dict[str, list[SpeechClip]]:
        """The word clips of each split with their speaker ids (scanned on first use)."""
        return scan_speech_commands(self.root)[0]

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        splits, words = scan_speech_commands(self.root)
        if self.protocol == "v2-35":
            classes = words
            tables = {
                split: ClipTable.build(
                    [c.path for c in clips],
                    [c.key for c in clips],
                    {"word": [words.index(c.word) for c in clips]},
                )
                for split, clips in splits.items()
            }
            return tables, {"word": classes}
        classes = [*V2_12_COMMANDS, UNKNOWN, SILENCE]
        index = {c: i for i, c in enumerate(classes)}
        noises = sorted((self.root / BACKGROUND_NOISE).glob("*.wav"))
        if not noises and self.silence_fraction > 0:
            raise ValueError(f"{self.root / BACKGROUND_NOISE}: no WAV files for _silence_")
        tables = {}
        for split, clips in splits.items():
            n_silence = math.ceil(self.silence_fraction * len(clips))
            words_table = ClipTable.build(
                [c.path for c in clips],
                [c.key for c in clips],
                {"word": [index.get(c.word, index[UNKNOWN]) for c in clips]},
                segment_s=[math.nan] * len(clips),
            )
            chosen = [noises[j % len(noises)] for j in range(n_silence)]
            silence_table = ClipTable.build(
                [str(p) for p in chosen],
                [f"{BACKGROUND_NOISE}/{p.name}#{j}" for j, p in enumerate(chosen)],
                {"word": [index[SILENCE]] * n_silence},
                segment_s=[1.0] * n_silence,
            )
            tables[split] = ClipTable.concat([words_table, silence_table])
        return tables, {"word": classes}
