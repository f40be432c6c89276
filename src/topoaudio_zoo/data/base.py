"""Shared machinery of the DataModules: clip tables, loading, seeding, batches.

Batches are dicts ``{"waveform": (batch, clip_samples) float32, "targets": {task: (batch,)
int64}, "key": list[str]}``; a missing target is ``-100`` (the cross-entropy ignore index).

Randomness: every random choice of an example comes from a generator seeded for that example
alone (:mod:`.sampling`), so runs are reproducible whatever the number of workers.

Bad files (``skip_bad``). A file that cannot be used (missing, unreadable, truncated, empty,
NaN) raises :class:`~topoaudio_zoo.audio.AudioError` naming it when it is loaded. With
``skip_bad=True`` it is skipped instead with a :class:`BadAudioWarning` naming it (once per
process and file) and the next good example of the split (index + 1, + 2, ...) is returned in
its place, so an epoch keeps its length. With ``cache_dir``, files are decoded when the cache is
built (``prepare_data``), so bad files are reported there.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..audio import AudioError, crop_or_pad, load_audio, normalize_rms
from .augment import Augment, augment_generator
from .cache import AudioCache, BadAudioWarning, build_cache
from .sampling import EpochSampler, ResumableDataLoader, resolve_item

__all__ = [
    "IGNORE_INDEX",
    "SPLITS",
    "AudioDataModule",
    "BadAudioWarning",
    "ClipDataset",
    "ClipSource",
    "ClipTable",
    "place",
]

IGNORE_INDEX = -100
SPLITS = ("train", "val", "test")
PLACEMENTS = ("random", "start", "center", "loudest")


@dataclass
class ClipTable:
    """The examples of one split: parallel arrays, cheap to share with DataLoader workers.

    Attributes:
        paths: ``(n,)`` absolute file paths, UTF-8 bytes (read them with :meth:`path`).
        keys: ``(n,)`` stable identifiers (relative path or note id), UTF-8 bytes
            (:meth:`key`).
        targets: task → ``(n,)`` int64 class indices (``-100`` where missing).
        segment_s: ``(n,)`` seconds to cut from the file before placing it in the clip (random
            start, fixed per example in evaluation), NaN for the whole file; ``None`` if never.
    """

    paths: np.ndarray
    keys: np.ndarray
    targets: dict[str, np.ndarray] = field(default_factory=dict)
    segment_s: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        paths: Sequence[str],
        keys: Sequence[str],
        targets: Mapping[str, Sequence[int]],
        segment_s: Sequence[float] | None = None,
    ) -> ClipTable:
        """Make a table from per-example lists (all of the same length)."""
        table = cls(
            paths=_utf8_array(paths),
            keys=_utf8_array(keys),
            targets={t: np.asarray(list(v), dtype=np.int64) for t, v in targets.items()},
            segment_s=None if segment_s is None else np.asarray(list(segment_s), dtype=float),
        )
        n = len(table.paths)
        lengths = [len(table.keys)] + [len(v) for v in table.targets.values()]
        if table.segment_s is not None:
            lengths.append(len(table.segment_s))
        if any(length != n for length in lengths):
            raise ValueError(f"ClipTable: columns of different lengths ({n} paths, {lengths})")
        return table

    def __len__(self) -> int:
        return len(self.paths)

    def path(self, i: int) -> str:
        """File of example ``i``."""
        return self.paths[i].decode()

    def key(self, i: int) -> str:
        """Key of example ``i``."""
        return self.keys[i].decode()

    def subset(self, indices: Sequence[int] | np.ndarray) -> ClipTable:
        """The examples at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return ClipTable(
            paths=self.paths[idx],
            keys=self.keys[idx],
            targets={t: v[idx] for t, v in self.targets.items()},
            segment_s=None if self.segment_s is None else self.segment_s[idx],
        )

    @staticmethod
    def concat(tables: Sequence[ClipTable]) -> ClipTable:
        """The examples of ``tables`` one after the other (they must have the same tasks)."""
        tasks = set(tables[0].targets)
        if any(set(t.targets) != tasks for t in tables):
            raise ValueError("ClipTable.concat: tables with different tasks")
        segments = None
        if any(t.segment_s is not None for t in tables):
            segments = np.concatenate(
                [
                    t.segment_s if t.segment_s is not None else np.full(len(t), np.nan)
                    for t in tables
                ]
            )
        return ClipTable(
            paths=np.concatenate([t.paths for t in tables]),
            keys=np.concatenate([t.keys for t in tables]),
            targets={task: np.concatenate([t.targets[task] for t in tables]) for task in tasks},
            segment_s=segments,
        )


def _utf8_array(values: Sequence[str]) -> np.ndarray:
    encoded = [str(v).encode() for v in values]
    return np.asarray(encoded, dtype=f"S{max(map(len, encoded), default=1)}")


def place(
    waveform: torch.Tensor, length: int, placement: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Crop or zero-pad ``(time,)`` to ``length`` samples.

    ``placement``: ``"random"`` (uniform window / position of the sound, from ``generator``),
    ``"start"``, ``"center"``, or ``"loudest"`` (the window of highest energy when cropping;
    centred when padding).
    """
    if placement == "loudest":
        if waveform.shape[-1] <= length:
            placement = "center"
        else:
            energy = torch.nn.functional.pad(waveform.double().pow(2).cumsum(-1), (1, 0))
            offset = int(torch.argmax(energy[length:] - energy[:-length]))
            return crop_or_pad(waveform, length, offset=offset)
    if placement not in PLACEMENTS:
        raise ValueError(f"placement: expected one of {PLACEMENTS}, got {placement!r}")
    return crop_or_pad(waveform, length, offset=placement, generator=generator)


class ClipSource:
    """Loads the examples of a :class:`ClipTable` at ``sr`` Hz, from the files or a cache.

    Without a cache, the files that examples cut segments from (e.g. the few long Speech
    Commands noise recordings) are decoded once per process and kept in memory.

    Args:
        table: the examples.
        sr: rate in Hz of the returned waveforms.
        cache: an :class:`AudioCache` of the table's distinct paths, or ``None``.
        skip_bad: replace an unusable file by the next good example (see the module docstring).
    """

    def __init__(
        self, table: ClipTable, sr: int, cache: AudioCache | None = None, skip_bad: bool = False
    ):
        self.table = table
        self.sr = sr
        self.cache = cache
        self.skip_bad = skip_bad
        self._slots: np.ndarray | None = None
        if cache is not None:
            slot_of = {str(p): i for i, p in enumerate(cache.paths)}
            paths = [p.decode() for p in table.paths]
            missing = [p for p in paths if p not in slot_of]
            if missing:
                raise ValueError(f"{cache.index_path}: the cache lacks {missing[0]}")
            self._slots = np.asarray([slot_of[p] for p in paths], dtype=np.int64)
        self._warned: set[str] = set()
        self._long_files: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.table)

    def load(self, index: int) -> tuple[int, torch.Tensor]:
        """``(index used, waveform (time,) float32 at sr)`` of example ``index``.

        The index used differs from ``index`` only when bad files were skipped.
        """
        n = len(self.table)
        for step in range(n):
            i = (index + step) % n
            try:
                return i, self._read(i)
            except AudioError as err:
                if not self.skip_bad:
                    raise
                if self.table.path(i) not in self._warned:
                    self._warned.add(self.table.path(i))
                    warnings.warn(f"skipping {err}", BadAudioWarning, stacklevel=2)
        raise AudioError(f"every one of the {n} files of this split is unusable")

    def _read(self, i: int) -> torch.Tensor:
        path = self.table.path(i)
        if self.cache is None and self._has_segment(i):
            if path not in self._long_files:
                self._long_files[path] = load_audio(path, self.sr)[0]
            return self._long_files[path]
        if self.cache is None:
            return load_audio(path, self.sr)[0]
        waveform = self.cache.get(int(self._slots[i]))
        if waveform is None:
            raise AudioError(f"{path}: marked unusable when the cache was built")
        return waveform

    def _has_segment(self, i: int) -> bool:
        return self.table.segment_s is not None and not math.isnan(self.table.segment_s[i])

    def segment(self, i: int, waveform: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Cut example ``i``'s segment (if it has one) at a random start from ``generator``."""
        if not self._has_segment(i):
            return waveform
        length = round(float(self.table.segment_s[i]) * self.sr)
        if waveform.shape[-1] <= length:
            return waveform
        return crop_or_pad(waveform, length, offset="random", generator=generator)


class ClipDataset(Dataset):
    """One split of single-source examples: load, segment, place in the clip, normalise.

    Items: ``{"waveform": (clip_samples,) float32 with RMS ``rms``, "targets": {task: int},
    "key": str}``. Training places the sound at random (random crop of a long file, random
    position of a short one) and applies ``augment`` (:class:`~.augment.Augment`: source effects
    before placing, channel effects after normalising); evaluation uses ``eval_placement``.
    """

    def __init__(
        self,
        source: ClipSource,
        split: str,
        clip_samples: int,
        rms: float,
        seed: int,
        eval_placement: str,
        augment: Augment | None = None,
    ):
        self.source = source
        self.split = split
        self.clip_samples = clip_samples
        self.rms = rms
        self.seed = seed
        self.placement = "random" if split == "train" else eval_placement
        self.augment = augment if split == "train" else None

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, item: int | tuple[int, int]) -> dict:
        index, generator = resolve_item(item, self.seed, self.split)
        i, waveform = self.source.load(index)
        waveform = self.source.segment(i, waveform, generator)
        if self.augment is not None:
            augment_rng = augment_generator(generator)
            waveform = self.augment.source(waveform, self.source.sr, augment_rng)
        waveform = place(waveform, self.clip_samples, self.placement, generator)
        waveform = normalize_rms(waveform, self.rms)
        if self.augment is not None:
            waveform = self.augment.channel(waveform, self.source.sr, augment_rng)
        table = self.source.table
        return {
            "waveform": waveform,
            "targets": {task: int(v[i]) for task, v in table.targets.items()},
            "key": table.key(i),
        }


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer ≥ {minimum}, got {value!r}")
    return value


class AudioDataModule(L.LightningDataModule):
    """Base of the package's DataModules (subclasses implement the ``_`` hooks).

    Args:
        sr: rate in Hz of the batches (20 000 for the cochleagram front end).
        clip_samples: samples per clip (40 000 = 2 s at 20 kHz).
        rms: RMS of every waveform after demeaning.
        batch_size, num_workers: DataLoader settings (``persistent_workers`` when workers > 0).
        seed: seed of every random choice (see the module docstring).
        download: ``prepare_data`` downloads and extracts missing data (else it only checks
            presence and raises a :class:`~.download.DatasetNotFoundError` listing what is
            missing and the URLs).
        cache_dir: folder of decoded, resampled audio (built by ``prepare_data``, or by
            ``setup`` when missing); ``None`` reads the files every time.
        skip_bad: skip unusable files with a warning instead of raising.
        augment: training augmentation, the options of :class:`~.augment.Augment` (speed,
            pitch, reverberation, band-limiting, level; e.g. ``{"p_reverb": 0.5, "p_band":
            0.3}``); ``None`` for none. Applied to training clips only.

    Subclasses take their own arguments and forward these, as keywords, with ``**loader``:
    each loader option is defined here once.

    ``tasks``/``task_types`` are available after ``setup()`` (any stage; reading them earlier
    builds the split lists on demand).
    """

    eval_placement = "center"

    def __init__(
        self,
        sr: int = 20000,
        clip_samples: int = 40000,
        rms: float = 0.1,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        download: bool = False,
        cache_dir: str | None = None,
        skip_bad: bool = False,
        augment: dict | None = None,
    ):
        super().__init__()
        self.sr = _positive_int("sr", sr)
        self.clip_samples = _positive_int("clip_samples", clip_samples)
        if not (isinstance(rms, int | float) and rms > 0):
            raise ValueError(f"rms: expected a positive number, got {rms!r}")
        self.rms = float(rms)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.num_workers = _positive_int("num_workers", num_workers, minimum=0)
        self.seed = int(seed)
        self.download = bool(download)
        self.cache_dir = cache_dir
        self.skip_bad = bool(skip_bad)
        self._splits: dict[str, ClipTable] | None = None
        self._tasks: dict[str, list[str]] | None = None
        self._datasets: dict[str, Dataset] = {}
        self._samplers: dict[str, EpochSampler] = {}
        self._caches: dict[int, AudioCache] = {}
        self.augment = Augment.from_config(augment)

    # Hooks for subclasses ------------------------------------------------------------------
    def _fetch(self) -> None:
        """Download and extract the data (``prepare_data`` with ``download=True``)."""
        raise NotImplementedError

    def _check_present(self) -> None:
        """Raise a DatasetNotFoundError listing missing files and the URLs."""
        raise NotImplementedError

    def _build(self) -> tuple[dict[str, ClipTable], dict[str, list[str]]]:
        """The tables (``"train"``, ``"val"``, ``"test"`` and any others a subclass uses) and
        the tasks' class names. Pure: assigns no state (``prepare_data`` calls it)."""
        raise NotImplementedError

    def _cache_groups(self, splits: dict[str, ClipTable]) -> dict[str, list[ClipTable]]:
        """Cache name → tables whose files share one cache."""
        return {f"{self._cache_name()}-{split}": [table] for split, table in splits.items()}

    def _cache_name(self) -> str:
        return type(self).__name__.removesuffix("DataModule").lower()

    def _make_dataset(self, split: str) -> Dataset:
        return ClipDataset(
            self._source(self._splits[split]),
            split,
            self.clip_samples,
            self.rms,
            self.seed,
            self.eval_placement,
            self.augment,
        )

    # Lightning interface -------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Download (``download=True``) or check the data; build the cache (``cache_dir``)."""
        if self.download:
            self._fetch()
        self._check_present()
        if self.cache_dir is not None:
            splits, _ = self._build()
            for name, tables in self._cache_groups(splits).items():
                self._open_cache(name, tables)

    def setup(self, stage: str | None = None) -> None:
        """Build the splits (all of them, whatever ``stage``), open the caches, make datasets."""
        self._ensure_built()
        if not self._datasets:
            if self.cache_dir is not None:
                for name, tables in self._cache_groups(self._splits).items():
                    cache = self._open_cache(name, tables)
                    for table in tables:
                        self._caches[id(table)] = cache
            self._datasets = {split: self._make_dataset(split) for split in SPLITS}

    def _ensure_built(self) -> None:
        if self._splits is None:
            self._check_present()
            self._splits, self._tasks = self._build()

    def _open_cache(self, name: str, tables: list[ClipTable]) -> AudioCache:
        paths = sorted({p.decode() for t in tables for p in t.paths})
        index = build_cache(
            paths,
            self.sr,
            self.cache_dir,
            name,
            skip_bad=self.skip_bad,
            num_workers=self.num_workers,
        )
        return AudioCache(index)

    def _source(self, table: ClipTable) -> ClipSource:
        cache = self._caches.get(id(table))
        return ClipSource(table, self.sr, cache=cache, skip_bad=self.skip_bad)

    @property
    def tasks(self) -> dict[str, list[str]]:
        """Task name → class names (the target index is the position in the list)."""
        self._ensure_built()
        return self._tasks

    @property
    def task_types(self) -> dict[str, str]:
        """Task name → ``"multiclass"`` or ``"multilabel"``."""
        return dict.fromkeys(self.tasks, "multiclass")

    def splits(self) -> dict[str, ClipTable]:
        """The examples of each split (``"train"``, ``"val"``, ``"test"``)."""
        self._ensure_built()
        return self._splits

    def dataset(self, split: str) -> Dataset:
        """The dataset of ``split`` (``"train"``, ``"val"`` or ``"test"``) after ``setup``."""
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        if not self._datasets:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for data")
        return self._datasets[split]

    def _loader(self, split: str) -> DataLoader:
        dataset = self.dataset(split)
        loader_class, sampler = DataLoader, None
        if split == "train":
            sampler = self._samplers.setdefault(split, EpochSampler(len(dataset), self.seed))
            loader_class = ResumableDataLoader
        return loader_class(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            shuffle=False,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches; a new crop/placement of every sound each epoch."""
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        """Validation batches in a fixed order with fixed crops."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test batches in a fixed order with fixed crops."""
        return self._loader("test")

    def predict_dataloader(self) -> DataLoader:
        """The test batches."""
        return self._loader("test")
