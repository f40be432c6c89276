"""Activations on cortical sheets: the result object and its single-file on-disk format.

File format (``.tacts``, version 1; all integers little-endian)::

    offset 0   8 bytes   magic b"TOPOACTS"
    offset 8   uint32    format version (1)
    offset 12  uint32    reserved (0)
    offset 16  uint64    byte offset of the JSON header (0 while the file is being written)
    offset 24  uint64    byte length of the JSON header
    offset 32  …         zeros up to offset 64
    offset 64  …         one block per layer, each starting at a multiple of 64 bytes: the
                         layer's C-contiguous array ``shape`` (``(n_sounds, H, W, ...)``) of
                         ``dtype`` (``"<f4"`` or ``"<f2"``), sound after sound
    then       …         the UTF-8 JSON header

The JSON header holds ``format`` (``"topoaudio-activations"``), ``version``, ``dtype``,
``n_sounds``, ``time_pool`` (``"mean"``, ``"max"`` or ``null``), ``keys`` (one identifier per
sound, in row order), ``config`` (the model's ``config.json``), ``library_version`` and
``layers``: a list, in extraction order, of ``{"name", "module", "n_units", "sheet_shape":
[H, W], "shape", "dims", "offset", "nbytes"}``. Unit ``i`` of a layer sits at row ``i // W``,
column ``i % W`` (:func:`topoaudio_zoo.topography.to_sheet`).

The writer reserves every block when the first batch shows the layers' shapes, fills the blocks
batch by batch (each batch is one contiguous chunk of rows of every block), and writes the
header last, so memory stays flat in the number of sounds and an interrupted extraction never
leaves a file that reads as complete: it writes ``FILE.partial`` and renames it to ``FILE``.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "FORMAT_VERSION",
    "MAGIC",
    "ActivationFileWriter",
    "Activations",
    "LayerLayout",
    "load_activations",
]

MAGIC = b"TOPOACTS"
FORMAT_VERSION = 1
FORMAT_NAME = "topoaudio-activations"
DTYPES = {"float32": "<f4", "float16": "<f2"}
_PREAMBLE = struct.Struct("<8sIIQQ")
_DATA_START = 64
_ALIGN = 64


@dataclass(frozen=True)
class LayerLayout:
    """Where a layer's units and values go.

    Attributes:
        name: the read-out name or module path asked for.
        module: the module path it resolves to.
        sheet_shape: ``(H, W)`` of the layer's cortical sheet.
        sound_shape: the shape of one sound's values, ``(H, W, ...)``.
        dims: axis names of the full array, e.g. ``("sound", "row", "col", "freq", "time")``.
    """

    name: str
    module: str
    sheet_shape: tuple[int, int]
    sound_shape: tuple[int, ...]
    dims: tuple[str, ...]

    @property
    def n_units(self) -> int:
        """Units of the layer (``H · W``)."""
        return self.sheet_shape[0] * self.sheet_shape[1]


@dataclass(eq=False)
class Activations:
    """Per-layer activations on cortical sheets; ``acts["layer1"]`` is ``(n_sounds, H, W, ...)``.

    Attributes:
        arrays: layer → array, in extraction order (NumPy memory maps when read from a file).
        layouts: layer → :class:`LayerLayout` (module path, sheet shape, axis names).
        keys: one identifier per sound, in row order (file path, dataset key or ``soundI``).
        config: the model's configuration (``config.json``).
        time_pool: ``"mean"`` or ``"max"`` (pooled over frequency and time, or tokens) or
            ``None`` (unpooled).
        path: the file the arrays live in, or ``None`` when they are in memory.
    """

    arrays: dict[str, np.ndarray]
    layouts: dict[str, LayerLayout]
    keys: list[str]
    config: dict[str, Any]
    time_pool: str | None
    path: Path | None = None
    library_version: str = field(default="")

    def __getitem__(self, layer: str) -> np.ndarray:
        if layer not in self.arrays:
            raise KeyError(f"no layer {layer!r}; layers: {', '.join(self.arrays)}")
        return self.arrays[layer]

    def __contains__(self, layer: object) -> bool:
        return layer in self.arrays

    @property
    def layers(self) -> list[str]:
        """Layer names in extraction order."""
        return list(self.arrays)

    @property
    def sheet_shapes(self) -> dict[str, tuple[int, int]]:
        """Layer → ``(H, W)``."""
        return {name: layout.sheet_shape for name, layout in self.layouts.items()}

    @property
    def n_sounds(self) -> int:
        """Sounds (rows of every array)."""
        return len(self.keys)


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


def _numpy_dtype(dtype: str) -> np.dtype:
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")
    return np.dtype(DTYPES[dtype])


class ActivationFileWriter:
    """Writes one activation file in chunks of rows (see the module docstring).

    Args:
        path: the file to create (replaced if it exists; parent folders are created).
        n_sounds: rows of every layer.
        layouts: the layers, in order.
        dtype: ``"float32"`` or ``"float16"``.
        time_pool, config, library_version: recorded in the header.

    Use as a context manager: leaving it with an exception removes the partial file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        n_sounds: int,
        layouts: Sequence[LayerLayout],
        dtype: str,
        time_pool: str | None,
        config: dict[str, Any],
        library_version: str,
    ) -> None:
        self.path = Path(path)
        self.n_sounds = n_sounds
        self.dtype = _numpy_dtype(dtype)
        self._header: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "dtype": dtype,
            "n_sounds": n_sounds,
            "time_pool": time_pool,
            "library_version": library_version,
            "config": config,
            "layers": [],
        }
        self._blocks: dict[str, tuple[int, int]] = {}
        offset = _DATA_START
        for layout in layouts:
            row_bytes = int(np.prod(layout.sound_shape)) * self.dtype.itemsize
            nbytes = row_bytes * n_sounds
            self._blocks[layout.name] = (offset, row_bytes)
            self._header["layers"].append(
                {
                    "name": layout.name,
                    "module": layout.module,
                    "n_units": layout.n_units,
                    "sheet_shape": list(layout.sheet_shape),
                    "shape": [n_sounds, *layout.sound_shape],
                    "dims": list(layout.dims),
                    "offset": offset,
                    "nbytes": nbytes,
                }
            )
            offset = _aligned(offset + nbytes)
        self._data_end = offset
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(self.path.name + ".partial")
        self._file = open(self._partial, "w+b")  # noqa: SIM115 (closed in close/abort)
        self._file.write(_PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, 0, 0).ljust(_DATA_START, b"\0"))
        self._file.truncate(self._data_end)

    def write(self, layer: str, start: int, rows: np.ndarray) -> None:
        """Write ``rows`` ``(k, *sound_shape)`` as rows ``start … start + k − 1`` of ``layer``."""
        offset, row_bytes = self._blocks[layer]
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.nbytes != row_bytes * len(rows) or start + len(rows) > self.n_sounds:
            raise ValueError(
                f"{layer}: rows {start}..{start + len(rows) - 1} of shape {rows.shape[1:]} do "
                f"not fit the block of {self.n_sounds} sounds × {row_bytes} bytes"
            )
        self._file.seek(offset + start * row_bytes)
        self._file.write(memoryview(rows).cast("B"))

    def close(self, keys: Sequence[str]) -> Path:
        """Record the sound identifiers, write the header, and move the file into place."""
        if len(keys) != self.n_sounds:
            raise ValueError(f"{len(keys)} sound identifiers for {self.n_sounds} sounds")
        header = json.dumps({**self._header, "keys": list(keys)}).encode()
        self._file.seek(self._data_end)
        self._file.write(header)
        self._file.seek(0)
        self._file.write(_PREAMBLE.pack(MAGIC, FORMAT_VERSION, 0, self._data_end, len(header)))
        self._file.close()
        os.replace(self._partial, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the partial file."""
        self._file.close()
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> ActivationFileWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.abort()


def _read_header(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such activation file")
    with open(path, "rb") as f:
        preamble = f.read(_PREAMBLE.size)
        if len(preamble) < _PREAMBLE.size or preamble[:8] != MAGIC:
            raise ValueError(f"{path}: not a topoaudio-zoo activation file (bad magic)")
        _, version, _, header_offset, header_length = _PREAMBLE.unpack(preamble)
        if version != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} (this library reads 1)")
        if header_offset == 0:
            raise ValueError(f"{path}: incomplete activation file (its extraction did not finish)")
        f.seek(header_offset)
        raw = f.read(header_length)
    if len(raw) != header_length:
        raise ValueError(f"{path}: truncated activation file (header cut short)")
    return json.loads(raw)


def load_activations(
    path: str | os.PathLike, layers: Sequence[str] | None = None, mmap: bool = True
) -> Activations:
    """Open an activation file written by :func:`~topoaudio_zoo.analysis.extract_activations`.

    Args:
        path: the file.
        layers: the layers to open (default: all).
        mmap: memory-map the arrays read-only (nothing is read until used); ``False`` reads
            them into memory.

    Returns:
        An :class:`Activations` with ``path`` set.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an activation file, an incomplete or truncated one, or an unknown layer
            (the message lists the file's layers).
    """
    path = Path(path)
    header = _read_header(path)
    entries = {entry["name"]: entry for entry in header["layers"]}
    wanted = list(entries) if layers is None else list(layers)
    unknown = [name for name in wanted if name not in entries]
    if unknown:
        raise ValueError(f"{path}: no layer(s) {unknown}; layers: {', '.join(entries)}")
    dtype = _numpy_dtype(header["dtype"])
    size = path.stat().st_size
    arrays, layouts = {}, {}
    for name in wanted:
        entry = entries[name]
        shape = tuple(entry["shape"])
        if entry["offset"] + entry["nbytes"] > size:
            raise ValueError(f"{path}: truncated activation file (layer {name!r} cut short)")
        if mmap:
            array = np.memmap(path, dtype=dtype, mode="r", offset=entry["offset"], shape=shape)
        else:
            with open(path, "rb") as f:
                f.seek(entry["offset"])
                array = np.fromfile(f, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
        arrays[name] = array
        layouts[name] = LayerLayout(
            name=name,
            module=entry["module"],
            sheet_shape=tuple(entry["sheet_shape"]),
            sound_shape=shape[1:],
            dims=tuple(entry["dims"]),
        )
    return Activations(
        arrays=arrays,
        layouts=layouts,
        keys=list(header["keys"]),
        config=header["config"],
        time_pool=header["time_pool"],
        path=path,
        library_version=header.get("library_version", ""),
    )
