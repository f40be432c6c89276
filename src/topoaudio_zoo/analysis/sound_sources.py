"""Sounds for extraction: tensors, files, folders, datasets and DataModules as model batches.

Every source becomes a :class:`SoundBatches`: the number of sounds, known up front, and an
iterator of ``(waveforms (batch, clip_samples) float32, keys)`` at the model's rate. Waveform
tensors and files go through :meth:`TopoAudioModel.preprocess` (mono, resampled to the
model's rate, centre crop/pad, RMS); dataset and DataModule batches are already prepared and
are only checked (clip length, and rate and RMS level where the source declares them).

Files are checked before the first batch: a missing, unreadable or non-audio file raises at
once, naming it (``on_error="raise"``, the default), or is skipped and reported in
:attr:`SoundBatches.skipped` (``on_error="skip"``, or :class:`AudioFiles`).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..audio import AUDIO_EXTENSIONS, AudioError, AudioWarning, audio_file_info, load_audio
from ..zoo.model import TopoAudioModel

__all__ = [
    "ON_ERROR",
    "AudioFiles",
    "AudioSource",
    "SoundBatches",
    "audio_files",
    "sound_batches",
]

ON_ERROR = ("raise", "skip")

AudioSource = (
    torch.Tensor
    | np.ndarray
    | str
    | os.PathLike
    | Sequence[str | os.PathLike]
    | Dataset
    | DataLoader
    | Any
)


@dataclass
class SoundBatches:
    """Model-ready batches of a sound source.

    Attributes:
        n_sounds: sounds the iterator yields in all.
        n_batches: batches it yields (for the progress bar).
        batches: ``(waveforms (batch, clip_samples) float32, keys)`` pairs.
        skipped: ``(file, reason)`` of every file left out (``on_error="skip"``).
    """

    n_sounds: int
    n_batches: int
    batches: Iterator[tuple[torch.Tensor, list[str]]]
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class AudioFiles:
    """Audio files and folders with a policy for the files that cannot be used.

    Pass it wherever a path or list of paths is accepted (e.g. as ``audio`` of
    :func:`~topoaudio_zoo.analysis.extract_activations`)::

        source = AudioFiles("sounds/", on_error="skip")
        acts = extract_activations(model, source, ["layer2"])
        for file, reason in source.skipped:
            print(file, reason)

    Attributes:
        paths: a file, a folder (searched recursively) or a list of those.
        on_error: ``"raise"`` (an unusable file raises, naming it) or ``"skip"`` (it is left
            out and listed in :attr:`skipped` with the reason).
        skipped: ``(file, reason)`` pairs, filled when the sounds are listed.
    """

    paths: str | os.PathLike | Sequence[str | os.PathLike]
    on_error: str = "raise"
    skipped: list[tuple[str, str]] = field(default_factory=list)


def audio_files(folder: str | os.PathLike) -> list[Path]:
    """Audio files under ``folder``, recursively, sorted: every extension of a format soundfile
    reads (:data:`topoaudio_zoo.audio.AUDIO_EXTENSIONS`: ``.wav .flac .ogg .oga .opus .mp3
    .aiff .au`` ...).

    Hidden files and folders (names starting with ``.``) are left out.

    Raises:
        AudioError: when the folder does not exist or holds no audio file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: no such folder")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in AUDIO_EXTENSIONS
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    if not files:
        raise AudioError(f"{folder}: no audio files ({' '.join(AUDIO_EXTENSIONS)}) in the folder")
    return files


def _file_list(audio: str | os.PathLike | Sequence[str | os.PathLike]) -> list[tuple[Path, str]]:
    """``(file, key)`` pairs: a folder's files keyed relative to it, listed paths as given."""
    if isinstance(audio, str | os.PathLike):
        if Path(audio).is_dir():
            return [(path, path.relative_to(audio).as_posix()) for path in audio_files(audio)]
        audio = [audio]
    files = []
    for entry in audio:
        if not isinstance(entry, str | os.PathLike):
            raise AudioError(f"audio: expected file or folder paths, got {type(entry).__name__}")
        path = Path(entry)
        if path.is_dir():
            files += [(file, str(file)) for file in audio_files(path)]
        elif path.is_file():
            files.append((path, str(entry)))
        else:
            raise AudioError(f"{entry}: no such audio file or folder")
    if not files:
        raise AudioError("audio: the list of files is empty")
    return files


def _chunks(n: int, batch_size: int) -> Iterator[range]:
    for start in range(0, n, batch_size):
        yield range(start, min(start + batch_size, n))


def waveform_batch(audio: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Waveforms as a tensor ``(n_sounds, time)`` or ``(n_sounds, channels, time)``; one
    ``(time,)`` waveform becomes a batch of one.

    Raises:
        AudioError: any other shape, or no sound.
    """
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.ascontiguousarray(audio))
    if audio.ndim == 1:
        audio = audio.unsqueeze(0)
    if audio.ndim not in (2, 3) or audio.shape[0] == 0:
        raise AudioError(
            "audio: expected waveforms (n_sounds, time) or (n_sounds, channels, time), got "
            f"shape {tuple(audio.shape)}"
        )
    return audio


def _tensor_batches(
    model: TopoAudioModel, audio: torch.Tensor | np.ndarray, sr: int, batch_size: int
) -> SoundBatches:
    audio = waveform_batch(audio)
    n = audio.shape[0]

    def batches() -> Iterator[tuple[torch.Tensor, list[str]]]:
        for rows in _chunks(n, batch_size):
            clips = []
            for i in rows:
                try:
                    clips.append(model.preprocess(audio[i], sr))
                except AudioError as err:
                    raise AudioError(f"audio[{i}]: {err}") from err
            yield torch.cat(clips), [f"sound{i}" for i in rows]

    return SoundBatches(n, math.ceil(n / batch_size), batches())


def _usable_files(
    model: TopoAudioModel, files: list[tuple[Path, str]], on_error: str
) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """Check every file before the first batch; returns ``(usable files, skipped)``.

    ``"raise"`` reads each header (missing, permission denied, not audio raise at once);
    ``"skip"`` decodes and prepares each file, so that every unusable one (truncated, NaN,
    ...) is found and left out before the number of sounds is fixed.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: expected one of {ON_ERROR}, got {on_error!r}")
    usable, skipped = [], []
    for path, key in files:
        try:
            if on_error == "raise":
                audio_file_info(path)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AudioWarning)
                    model.preprocess(*load_audio(path), name=str(path))
        except AudioError as err:
            if on_error == "raise":
                raise
            skipped.append((str(path), str(err).removeprefix(f"{path}: ")))
        else:
            usable.append((path, key))
    if not usable:
        raise AudioError(
            f"audio: none of the {len(files)} files is usable: "
            + "; ".join(f"{file}: {reason}" for file, reason in skipped[:5])
        )
    return usable, skipped


def _file_batches(
    model: TopoAudioModel, files: list[tuple[Path, str]], batch_size: int, on_error: str
) -> SoundBatches:
    files, skipped = _usable_files(model, files, on_error)
    n = len(files)

    def batches() -> Iterator[tuple[torch.Tensor, list[str]]]:
        for rows in _chunks(n, batch_size):
            clips = []
            for i in rows:
                waveform, rate = load_audio(files[i][0])
                clips.append(model.preprocess(waveform, rate, name=str(files[i][0])))
            yield torch.cat(clips), [files[i][1] for i in rows]

    return SoundBatches(n, math.ceil(n / batch_size), batches(), skipped)


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "waveform": torch.stack([torch.as_tensor(item["waveform"]) for item in items]),
        "key": [item["key"] for item in items],
    }


def _check_declared(model: TopoAudioModel, source: object, label: str) -> None:
    """Compare the rate and RMS level a dataset or DataModule declares with the model's."""
    for owner in (source, getattr(source, "source", None)):
        rate = getattr(owner, "sr", None)
        if isinstance(rate, int) and rate != model.sample_rate:
            raise AudioError(
                f"{label} yields sounds at {rate} Hz, the model takes {model.sample_rate} Hz: "
                f"build it with sr={model.sample_rate}"
            )
    rms, expected = getattr(source, "rms", None), model.config["rms"]
    if isinstance(rms, float | int) and expected is not None and not math.isclose(rms, expected):
        raise AudioError(
            f"{label} normalises sounds to RMS {rms}, the model expects {expected}: "
            f"build it with rms={expected}"
        )


def _loader_batches(model: TopoAudioModel, loader: DataLoader, label: str) -> SoundBatches:
    try:
        n = len(loader.dataset)
    except TypeError as err:
        raise AudioError(f"{label}: its dataset has no length (an iterable dataset)") from err
    if n == 0:
        raise AudioError(f"{label}: no sounds")

    def batches() -> Iterator[tuple[torch.Tensor, list[str]]]:
        for batch in loader:
            if not isinstance(batch, dict) or "waveform" not in batch or "key" not in batch:
                raise AudioError(f"{label}: batches must be dicts with 'waveform' and 'key'")
            waveform = torch.as_tensor(batch["waveform"])
            if waveform.ndim != 2 or waveform.shape[1] != model.clip_samples:
                raise AudioError(
                    f"{label}: waveforms of shape {tuple(waveform.shape)}, the model takes "
                    f"(batch, {model.clip_samples}) clips at {model.sample_rate} Hz: build it "
                    f"with clip_samples={model.clip_samples}"
                )
            yield waveform.float(), [str(key) for key in batch["key"]]

    return SoundBatches(n, len(loader), batches())


def sound_batches(
    model: TopoAudioModel,
    audio: AudioSource,
    batch_size: int,
    sr: int | None = None,
    on_error: str = "raise",
) -> SoundBatches:
    """Model-ready batches of ``audio`` (see :func:`~.activations.extract_activations`).

    Args:
        on_error: for files: ``"raise"`` or ``"skip"`` (see :class:`AudioFiles`, whose own
            ``on_error`` wins and whose ``skipped`` list is filled).

    Raises:
        AudioError: naming a missing, unreadable or non-audio file (before the first batch),
            a missing folder, an empty folder or list, a waveform of the wrong shape, or a
            dataset whose clips or rate do not fit the model.
    """
    if sr is not None and not (torch.is_tensor(audio) or isinstance(audio, np.ndarray)):
        raise AudioError("sr: only for waveform tensors (files carry their own rate)")
    if torch.is_tensor(audio) or isinstance(audio, np.ndarray):
        return _tensor_batches(model, audio, model.sample_rate if sr is None else sr, batch_size)
    if isinstance(audio, AudioFiles):
        batches = _file_batches(model, _file_list(audio.paths), batch_size, audio.on_error)
        audio.skipped[:] = batches.skipped
        return batches
    if isinstance(audio, str | os.PathLike | list | tuple):
        return _file_batches(model, _file_list(audio), batch_size, on_error)
    if callable(getattr(audio, "predict_dataloader", None)):
        label = type(audio).__name__
        _check_declared(model, audio, label)
        if callable(getattr(audio, "setup", None)):
            audio.setup("predict")
        return _loader_batches(model, audio.predict_dataloader(), f"{label}.predict_dataloader()")
    if isinstance(audio, DataLoader):
        _check_declared(model, audio.dataset, type(audio.dataset).__name__)
        return _loader_batches(model, audio, "DataLoader")
    if isinstance(audio, Dataset):
        label = type(audio).__name__
        _check_declared(model, audio, label)
        loader = DataLoader(audio, batch_size=batch_size, shuffle=False, collate_fn=_collate)
        return _loader_batches(model, loader, label)
    raise AudioError(
        "audio: expected waveforms (tensor or array), a file, a folder, a list of those, a "
        f"Dataset, a DataLoader or a DataModule, got {type(audio).__name__}"
    )
