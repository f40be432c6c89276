"""Activation files: HDF5, one dataset per layer, readable by h5py alone.

Layout (format ``"topoaudio-activations"``, version 2)::

    /                       attributes: format, version (2), pool ("unit" | "time" | "none"),
                            raw (bool), library_version, config (the model's config.json as a
                            JSON string, "null" for a plain module), layers (JSON list of the
                            layer names in extraction order)
    /sound_ids              (sounds,) UTF-8 strings, the row order of every layer
    /activations/<layer>    (sounds, H, W, ...) float32 or float16, C order, uncompressed;
                            attributes: module, kind, sheet_shape [H, W], dims (axis names)

HDF5 rather than zarr: one self-contained file (a zarr store is a folder of chunk files),
readable by h5py, MATLAB, R and the HDF5 command-line tools, and its contiguous datasets can
be memory-mapped. Rows are written batch by batch, so memory stays flat in the number of
sounds. The file is written under a temporary name beside the target and renamed when
complete (:func:`topoaudio_zoo.atomic.atomic_path`): an interrupted extraction leaves no file,
and of two extractions to one path the file holds exactly one of them.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..atomic import atomic_path
from .activation_result import Activations, LayerLayout

__all__ = ["DTYPES", "FORMAT_NAME", "FORMAT_VERSION", "ActivationWriter", "load_activations"]

FORMAT_NAME = "topoaudio-activations"
FORMAT_VERSION = 2
DTYPES = {"float32": "<f4", "float16": "<f2"}
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_LEGACY_MAGIC = b"TOPOACTS"


class ActivationWriter:
    """Writes one HDF5 activation file in chunks of rows, atomically.

    Args:
        stack: the ``ExitStack`` of the extraction: leaving it with an exception deletes the
            partial file; leaving it normally (after :meth:`close`) moves the file into place.
        path: the file to create (replaced if it exists; parent folders are created).
        n_sounds: rows of every layer.
        layouts: the layers, in order.
        dtype: ``"float32"`` or ``"float16"``.
        pool, raw, config, library_version: recorded as attributes.
    """

    def __init__(
        self,
        stack: ExitStack,
        path: Path,
        n_sounds: int,
        layouts: Sequence[LayerLayout],
        dtype: str,
        pool: str,
        raw: bool,
        config: dict[str, Any] | None,
        library_version: str,
    ) -> None:
        self.n_sounds = n_sounds
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = stack.enter_context(atomic_path(path, suffix=".h5"))
        self._file = stack.enter_context(h5py.File(tmp, "w", track_order=True))
        self._file.attrs.update(
            {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "pool": pool,
                "raw": raw,
                "library_version": library_version,
                "config": json.dumps(config),
                "layers": json.dumps([layout.name for layout in layouts]),
            }
        )
        group = self._file.create_group("activations", track_order=True)
        self._datasets = {}
        for layout in layouts:
            if "/" in layout.name:
                raise ValueError(f"layers: {layout.name!r} contains '/', not allowed in HDF5")
            dataset = group.create_dataset(
                layout.name, shape=(n_sounds, *layout.sound_shape), dtype=DTYPES[dtype]
            )
            dataset.attrs.update(
                {
                    "module": layout.module,
                    "kind": layout.kind,
                    "sheet_shape": list(layout.sheet_shape),
                    "dims": list(layout.dims),
                }
            )
            self._datasets[layout.name] = dataset

    def write(self, layer: str, start: int, rows: np.ndarray) -> None:
        """Write ``rows`` ``(k, *sound_shape)`` as rows ``start … start + k − 1`` of ``layer``."""
        self._datasets[layer][start : start + len(rows)] = rows

    def close(self, sound_ids: Sequence[str]) -> None:
        """Record the sound identifiers; the file is complete once the stack is left."""
        if len(sound_ids) != self.n_sounds:
            raise ValueError(f"{len(sound_ids)} sound identifiers for {self.n_sounds} sounds")
        self._file.create_dataset("sound_ids", data=list(sound_ids), dtype=h5py.string_dtype())


def _memory_mapped(path: Path, dataset: h5py.Dataset) -> np.ndarray:
    """A read-only memory map of a contiguous, uncompressed dataset (else read into memory)."""
    offset = dataset.id.get_offset()
    if offset is None or dataset.chunks is not None or dataset.size == 0:
        return dataset[()]
    return np.memmap(path, dtype=dataset.dtype, mode="r", offset=offset, shape=dataset.shape)


def _attr_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_hdf5(path: Path, layers: Sequence[str] | None, mmap: bool) -> Activations:
    with h5py.File(path, "r") as f:
        if _attr_text(f.attrs.get("format", "")) != FORMAT_NAME or "sound_ids" not in f:
            raise ValueError(f"{path}: an HDF5 file, but not a complete activation file")
        order = json.loads(_attr_text(f.attrs["layers"]))
        wanted = order if layers is None else list(layers)
        unknown = [name for name in wanted if name not in order]
        if unknown:
            raise ValueError(f"{path}: no layer(s) {unknown}; layers: {', '.join(order)}")
        arrays, layouts = {}, {}
        for name in wanted:
            dataset = f["activations"][name]
            arrays[name] = _memory_mapped(path, dataset) if mmap else dataset[()]
            layouts[name] = LayerLayout(
                name=name,
                module=_attr_text(dataset.attrs["module"]),
                kind=_attr_text(dataset.attrs["kind"]),
                sheet_shape=tuple(int(v) for v in dataset.attrs["sheet_shape"]),
                sound_shape=tuple(dataset.shape[1:]),
                dims=tuple(_attr_text(v) for v in dataset.attrs["dims"]),
            )
        return Activations(
            arrays=arrays,
            layouts=layouts,
            sound_ids=[_attr_text(v) for v in f["sound_ids"][()]],
            pool=_attr_text(f.attrs["pool"]),
            raw=bool(f.attrs["raw"]),
            config=json.loads(_attr_text(f.attrs["config"])),
            path=path,
            library_version=_attr_text(f.attrs.get("library_version", "")),
        )


def load_activations(
    path: str | os.PathLike, layers: Sequence[str] | None = None, mmap: bool = True
) -> Activations:
    """Open an activation file written by :func:`~topoaudio_zoo.analysis.extract_activations`.

    Args:
        path: the HDF5 file (a ``.tacts`` file of version 0.1 is still read, with a
            ``DeprecationWarning``).
        layers: the layers to open (default: all, in extraction order).
        mmap: memory-map the arrays read-only (nothing is read until used); ``False`` reads
            them into memory.

    Returns:
        An :class:`~topoaudio_zoo.analysis.Activations` with ``path`` set.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an activation file, an incomplete one, or an unknown layer (the
            message lists the file's layers).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such activation file")
    with open(path, "rb") as f:
        signature = f.read(8)
    if signature == _HDF5_SIGNATURE:
        return _read_hdf5(path, layers, mmap)
    if signature == _LEGACY_MAGIC:
        from .activation_file import read_tacts

        warnings.warn(
            f"{path}: the .tacts format of topoaudio-zoo 0.1 is deprecated and will not be "
            "read by a future release; activation files are now HDF5 (re-extract with out=...h5)",
            DeprecationWarning,
            stacklevel=2,
        )
        return read_tacts(path, layers, mmap)
    raise ValueError(f"{path}: not a topoaudio-zoo activation file (neither HDF5 nor .tacts)")
