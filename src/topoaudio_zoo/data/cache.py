"""On-disk cache of decoded, resampled sounds: one float16 memory map per list of files.

Decoding and resampling (e.g. 44.1 → 20 kHz for ESC-50) dominate a loader's cost; the cache does
them once. For a list of files it stores every file's whole waveform, mono at the target rate,
as float16 (about 66 dB of signal-to-quantisation ratio, relative to each sample) concatenated
in ``<name>-<key>.f16``, with ``<name>-<key>.npz`` holding the offsets. ``key`` hashes the
rate and every file's path, size and modification time, so a changed dataset gets a new cache.
Files are written under temporary names and renamed when complete (safe with several
processes). Space: 40 kB per second of audio (Speech Commands ≈ 4.2 GB, ESC-50 ≈ 400 MB).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..atomic import atomic_path
from ..audio import AudioError, load_audio

__all__ = ["AudioCache", "BadAudioWarning", "build_cache"]


class BadAudioWarning(UserWarning):
    """A sound file was skipped (``skip_bad=True``); the message names it and the reason."""


def _cache_key(paths: Sequence[str], sr: int) -> str:
    digest = hashlib.sha1(f"sr={sr}\n".encode())
    for path in paths:
        try:
            st = os.stat(path)
            stamp = f"{st.st_size}\t{st.st_mtime_ns}"
        except FileNotFoundError:
            stamp = "missing"
        digest.update(f"{path}\t{stamp}\n".encode())
    return digest.hexdigest()[:16]


class _Decoder(Dataset):
    """Decodes one file per item: ``(waveform float16 (time,), error message or "")``."""

    def __init__(self, paths: Sequence[str], sr: int):
        self.paths = list(paths)
        self.sr = sr

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[np.ndarray, str]:
        try:
            waveform, _ = load_audio(self.paths[index], self.sr)
        except AudioError as err:
            return np.zeros(0, dtype=np.float16), str(err)
        return waveform.numpy().astype(np.float16), ""


def build_cache(
    paths: Sequence[str],
    sr: int,
    cache_dir: str | os.PathLike,
    name: str,
    skip_bad: bool = False,
    num_workers: int = 0,
) -> Path:
    """Decode ``paths`` (at ``sr`` Hz, mono) into a cache unless an up-to-date one exists.

    Args:
        paths: files to decode (distinct).
        sr: rate in Hz.
        cache_dir: folder of the cache files (created).
        name: prefix of the cache files (e.g. ``"esc50"``).
        skip_bad: record unreadable files as bad (with a :class:`BadAudioWarning`) instead of
            raising.
        num_workers: decoding processes.

    Returns:
        The index file (``.npz``) to open with :class:`AudioCache`.

    Raises:
        AudioError: naming the first unreadable file, unless ``skip_bad``.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{_cache_key(paths, sr)}"
    index_path = cache_dir / f"{stem}.npz"
    if index_path.exists():
        return index_path
    data_path = cache_dir / f"{stem}.f16"
    offsets = np.zeros(len(paths) + 1, dtype=np.int64)
    bad = np.zeros(len(paths), dtype=bool)
    loader = DataLoader(
        _Decoder(paths, sr), batch_size=None, num_workers=num_workers, collate_fn=_identity
    )
    with atomic_path(data_path) as tmp, open(tmp, "wb") as f:
        for i, (waveform, error) in enumerate(loader):
            if error:
                if not skip_bad:
                    raise AudioError(error)
                warnings.warn(f"skipping {error}", BadAudioWarning, stacklevel=2)
                bad[i] = True
            waveform.tofile(f)
            offsets[i + 1] = offsets[i] + waveform.size
    with atomic_path(index_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, offsets=offsets, bad=bad, paths=np.asarray(paths, dtype=str), sr=sr)
    return index_path


def _identity(item: tuple[np.ndarray, str]) -> tuple[np.ndarray, str]:
    return item


class AudioCache:
    """Read access to a cache written by :func:`build_cache`.

    The memory map is opened lazily in each process (DataLoader workers included) and is not
    pickled.
    """

    def __init__(self, index_path: str | os.PathLike):
        self.index_path = Path(index_path)
        with np.load(self.index_path) as index:
            self.offsets = index["offsets"]
            self.bad = index["bad"]
            self.paths = index["paths"]
            self.sr = int(index["sr"])
        self.data_path = self.index_path.with_suffix(".f16")
        self._data: np.memmap | None = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_data"] = None
        return state

    def __len__(self) -> int:
        return len(self.bad)

    def get(self, slot: int) -> torch.Tensor | None:
        """The waveform of file ``slot`` as float32 ``(time,)`` at ``self.sr``; ``None`` if bad."""
        if self.bad[slot]:
            return None
        if self._data is None:
            self._data = np.memmap(self.data_path, dtype=np.float16, mode="r")
        start, stop = self.offsets[slot], self.offsets[slot + 1]
        return torch.from_numpy(self._data[start:stop].astype(np.float32))
