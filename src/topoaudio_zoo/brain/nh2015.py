"""The NH2015 natural-sound set: 165 sounds, their 11 categories and the six fMRI components.

Norman-Haignere, Kanwisher & McDermott (2015, *Neuron*), as published in the GitHub repository
``snormanhaignere/natsound165-neuron2015``. The local layout (what ``download=True`` writes)::

    <data_dir>/components.mat        MATLAB v5: R (165, 6), component_names, stim_names, ...
    <data_dir>/category_labels.csv   rows ``stim_name,Category``, no header
    <data_dir>/wav/<stim>.wav        165 two-second clips (44.1 kHz in the published set)

Sounds come back in the order of ``components.mat``'s ``stim_names`` (the rows of ``R``), which
is not the sorted order of the file names.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import torch
from tqdm.auto import tqdm

from ..audio import crop_or_pad, load_audio, prepare_waveform, resample
from ..data.download import (
    ChecksumError,
    DatasetNotFoundError,
    Remote,
    download_url,
    verify_checksum,
)
from .checksums import NH2015_SHA256

__all__ = [
    "NH2015",
    "NH2015_BASE_URL",
    "NH2015_CATEGORIES",
    "NH2015_SOUNDS",
    "default_data_dir",
    "load_nh2015",
    "matlab_strings",
    "read_category_labels",
    "read_components",
]

NH2015_BASE_URL = "https://raw.githubusercontent.com/snormanhaignere/natsound165-neuron2015/master/"
# Local path → path in the published repository.
_REMOTE_PATHS = {
    "components.mat": "data/components.mat",
    "category_labels.csv": "sounds/category_labels.csv",
}
NH2015_SOUNDS: tuple[str, ...] = tuple(
    sorted(Path(p).stem for p in NH2015_SHA256 if p.startswith("wav/"))
)
NH2015_CATEGORIES = (
    "Mechanical",
    "EnvSound",
    "Music",
    "HumNonVoc",
    "HumVoc",
    "Song",
    "EngSpeech",
    "AniVoc",
    "ForSpeech",
    "AniNonVoc",
    "Nature",
)


def default_data_dir() -> Path:
    """``$TOPOAUDIO_ZOO_DATA/nh2015``, else ``~/.cache/topoaudio_zoo/nh2015``."""
    base = os.environ.get("TOPOAUDIO_ZOO_DATA")
    return (Path(base) if base else Path.home() / ".cache" / "topoaudio_zoo") / "nh2015"


@dataclass(frozen=True)
class NH2015:
    """The NH2015 stimuli with their categories and the six fMRI response components.

    Attributes:
        root: the data folder.
        names: the 165 stimulus names (``stim5_alarm_clock``, no ``.wav``), in the order of the
            components' rows.
        categories: one of :data:`NH2015_CATEGORIES` per sound.
        paths: the WAV file of each sound.
        components: ``(165, 6)`` float64 response profiles ``R`` (rows as ``names``).
        component_names: ``lowfreq, highfreq, envsounds, pitch, speech, music``.
    """

    root: Path
    names: list[str]
    categories: list[str]
    paths: list[Path]
    components: np.ndarray
    component_names: list[str]

    def waveforms(
        self,
        sample_rate: int = 20000,
        duration: float = 2.0,
        rms: float | None = 0.1,
        progress: bool = False,
    ) -> np.ndarray:
        """Every sound as the models hear it: mono, resampled, cropped or zero-padded, demeaned.

        Each file is cut (or zero-padded) to ``duration`` at its own rate, then all files of a
        rate are resampled together (torchaudio's sinc resampler).

        Args:
            sample_rate: rate in Hz (the files are resampled to it).
            duration: seconds kept from the start of each file (zero-padded when shorter).
            rms: RMS after demeaning (the models' 0.1); ``None`` keeps the file's level.
            progress: show a progress bar over files.

        Returns:
            ``(165, round(sample_rate * duration))`` float32, rows in the order of ``names``.
        """
        length = round(sample_rate * duration)
        if length <= 0:
            raise ValueError(f"duration: expected a positive number of seconds, got {duration}")
        by_rate: dict[int, list[tuple[int, torch.Tensor]]] = {}
        for i, path in enumerate(tqdm(self.paths, desc="NH2015 sounds", disable=not progress)):
            waveform, sr = load_audio(path)
            native = crop_or_pad(waveform, math.ceil(duration * sr))
            by_rate.setdefault(sr, []).append((i, native))
        out = np.empty((len(self.paths), length), dtype=np.float32)
        for sr, items in by_rate.items():  # one resampling call per file rate
            rows = resample(torch.stack([native for _, native in items]), sr, sample_rate)
            for (i, _), row in zip(items, rows, strict=True):
                clip = prepare_waveform(
                    row, sample_rate, sample_rate, length, rms=rms, name=str(self.paths[i])
                )
                out[i] = clip.numpy()
        return out


def _remotes(base_url: str) -> dict[str, Remote]:
    """Local path → where to download it, with its checksum."""
    remotes = {}
    for local, sha256 in NH2015_SHA256.items():
        remote = _REMOTE_PATHS.get(local, f"sounds/{local}")
        remotes[local] = Remote(
            url=base_url + remote,
            filename=local,
            sha256=sha256,
            checksum_source="SHA256SUMS of the project's copy of the published files",
        )
    return remotes


def _fetch(root: Path, base_url: str, progress: bool) -> None:
    remotes = _remotes(base_url)
    missing = [local for local in remotes if not (root / local).exists()]
    for local in tqdm(missing, desc="NH2015 download", disable=not progress):
        remote = remotes[local]
        download_url(remote.url, root / local, sha256=remote.sha256, progress=False)


def _require(root: Path, base_url: str) -> None:
    missing = [local for local in NH2015_SHA256 if not (root / local).exists()]
    if not missing:
        return
    shown = missing if len(missing) <= 12 else [*missing[:10], f"... ({len(missing)} in all)"]
    lines = [f"NH2015 not found under {root}: missing", *[f"  {root / m}" for m in shown]]
    lines += [
        f"Get them from {base_url} (data/components.mat, sounds/category_labels.csv, "
        "sounds/wav/*.wav) into that flat layout,",
        "or pass download=True (command line: --download) to fetch and verify them.",
    ]
    raise DatasetNotFoundError("\n".join(lines))


def _check_sound_files(root: Path) -> None:
    """The ``wav/`` folder holds exactly the 165 NH2015 sounds."""
    present = {p.stem for p in (root / "wav").glob("*.wav")}
    extra = sorted(present - set(NH2015_SOUNDS))
    if extra:
        raise ValueError(f"{root / 'wav'}: sounds that are not NH2015's: {extra}")


def matlab_strings(cell: np.ndarray, name: str, path: Path) -> list[str]:
    """A MATLAB cell of strings (``(1, n)`` or ``(n, 1)``, each a ``(1,)`` array) → strings."""
    try:
        return [str(np.asarray(item).ravel()[0]) for item in np.asarray(cell).ravel()]
    except (IndexError, TypeError) as err:
        raise ValueError(f"{path}: {name} is not a cell of strings ({err})") from err


def read_components(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    """``components.mat`` → ``(R (sounds, components), component names, stim names)``."""
    try:
        mat = scipy.io.loadmat(path)
    except (ValueError, OSError, NotImplementedError) as err:
        raise ValueError(f"{path}: not a readable MATLAB v5 file ({err})") from err
    for key in ("R", "component_names", "stim_names"):
        if key not in mat:
            raise ValueError(f"{path}: no {key!r} variable (found {sorted(mat)})")
    components = np.asarray(mat["R"], dtype=np.float64)
    component_names = matlab_strings(mat["component_names"], "component_names", path)
    stim_names = matlab_strings(mat["stim_names"], "stim_names", path)
    if components.shape != (len(stim_names), len(component_names)):
        raise ValueError(
            f"{path}: R has shape {components.shape}, expected "
            f"({len(stim_names)} stim_names, {len(component_names)} component_names)"
        )
    if not np.isfinite(components).all():
        raise ValueError(f"{path}: R holds NaN or infinite values")
    return components, component_names, stim_names


def read_category_labels(path: Path) -> list[tuple[str, str]]:
    """``category_labels.csv`` → ``[(stim_name, category), ...]`` in file order."""
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    bad = [i + 1 for i, row in enumerate(rows) if len(row) != 2]
    if bad:
        raise ValueError(f"{path}: rows {bad[:5]} are not 'stim_name,Category'")
    return [(name.strip(), category.strip()) for name, category in rows]


def _check_names(names: list[str], source: Path) -> None:
    """``names`` are the 165 NH2015 sounds, each once."""
    missing = sorted(set(NH2015_SOUNDS) - set(names))
    extra = sorted(set(names) - set(NH2015_SOUNDS))
    repeated = sorted({n for n in names if names.count(n) > 1})
    if missing or extra or repeated:
        raise ValueError(
            f"{source}: the stimulus list differs from NH2015's 165 sounds: missing {missing}, "
            f"extra {extra}, repeated {repeated}"
        )


def _check_order(expected: list[str], got: list[str], source: Path, reference: Path) -> None:
    moved = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g]
    if moved:
        shown = ", ".join(f"row {i + 1}: {g} where {reference.name} has {e}" for i, e, g in moved)
        raise ValueError(f"{source}: sounds in another order than {reference}: {shown}")


def load_nh2015(
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    verify: bool = True,
    progress: bool = True,
    base_url: str = NH2015_BASE_URL,
) -> NH2015:
    """The NH2015 sounds, categories and components, in the order of the components' rows.

    Args:
        data_dir: the folder (flat layout, see the module docs); default
            :func:`default_data_dir`.
        download: fetch missing files from the published repository (``NH2015_BASE_URL``),
            each verified against its SHA-256 before it is kept.
        verify: check every file present against its published SHA-256 (``False`` for
            folders of your own in the same layout).
        progress: show progress bars.
        base_url: the repository's raw-file root (a mirror, or ``file://`` for a local copy).

    Raises:
        DatasetNotFoundError: (a FileNotFoundError) listing the missing files and where to get
            them, when ``download`` is false.
        ChecksumError: naming a file whose bytes differ from the published ones.
        ValueError: naming the file, for sounds missing from or extra to the stimulus list,
            the WAV folder or the category file, sounds in another order, unknown categories or
            a malformed ``components.mat``.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if download:
        _fetch(root, base_url, progress)
    _require(root, base_url)
    if verify:
        for local, sha256 in tqdm(
            NH2015_SHA256.items(), desc="NH2015 checksums", disable=not progress
        ):
            try:
                verify_checksum(root / local, sha256=sha256)
            except ChecksumError as err:
                raise ChecksumError(
                    f"{err}. Not the published file: delete it and load with download=True, "
                    "or pass verify=False for a folder of your own"
                ) from None
    _check_sound_files(root)
    components_path = root / "components.mat"
    labels_path = root / "category_labels.csv"
    components, component_names, names = read_components(components_path)
    _check_names(names, components_path)
    labels = read_category_labels(labels_path)
    label_names = [name for name, _ in labels]
    _check_names(label_names, labels_path)
    _check_order(names, label_names, labels_path, components_path)
    categories = [category for _, category in labels]
    unknown = sorted(set(categories) - set(NH2015_CATEGORIES))
    if unknown:
        raise ValueError(
            f"{labels_path}: unknown categories {unknown}; NH2015 has {list(NH2015_CATEGORIES)}"
        )
    return NH2015(
        root=root,
        names=names,
        categories=categories,
        paths=[root / "wav" / f"{name}.wav" for name in names],
        components=components,
        component_names=component_names,
    )
