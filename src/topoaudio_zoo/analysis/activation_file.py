"""Reading the retired ``.tacts`` activation files of topoaudio-zoo 0.1 (deprecated).

Version 1 layout (integers little-endian): magic ``b"TOPOACTS"``, uint32 version (1), uint32
reserved, uint64 offset and uint64 length of a UTF-8 JSON header written last; from byte 64,
one C-contiguous block per layer. The header holds ``dtype``, ``time_pool`` (``"mean"``,
``"max"`` or ``null``), ``keys`` (sound ids), ``config``, ``library_version`` and ``layers``
(``name``, ``module``, ``sheet_shape``, ``shape``, ``dims``, ``offset``, ``nbytes``). New files
are HDF5 (:mod:`~topoaudio_zoo.analysis.activation_hdf5`).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .activation_result import Activations, LayerLayout

__all__ = ["read_tacts"]

_PREAMBLE = struct.Struct("<8sIIQQ")
_DTYPES = {"float32": "<f4", "float16": "<f2"}
_POOLS = {"mean": "unit", "max": "unit-max", None: "none"}


def _header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        _, version, _, offset, length = _PREAMBLE.unpack(f.read(_PREAMBLE.size))
        if version != 1:
            raise ValueError(f"{path}: .tacts format version {version} (only 1 is read)")
        if offset == 0:
            raise ValueError(f"{path}: incomplete activation file (its extraction did not finish)")
        f.seek(offset)
        raw = f.read(length)
    if len(raw) != length:
        raise ValueError(f"{path}: truncated activation file (header cut short)")
    return json.loads(raw)


def read_tacts(path: Path, layers: Sequence[str] | None, mmap: bool) -> Activations:
    """An :class:`Activations` of a 0.1 ``.tacts`` file (``pool`` ``"unit"`` for its
    ``time_pool="mean"``, ``"unit-max"`` for ``"max"``, ``"none"`` unpooled; ``raw=True``:
    0.1 read conv layers before their normalisation and non-linearity)."""
    header = _header(path)
    entries = {entry["name"]: entry for entry in header["layers"]}
    wanted = list(entries) if layers is None else list(layers)
    unknown = [name for name in wanted if name not in entries]
    if unknown:
        raise ValueError(f"{path}: no layer(s) {unknown}; layers: {', '.join(entries)}")
    dtype = np.dtype(_DTYPES[header["dtype"]])
    arrays, layouts = {}, {}
    for name in wanted:
        entry = entries[name]
        shape = tuple(entry["shape"])
        array = np.memmap(path, dtype=dtype, mode="r", offset=entry["offset"], shape=shape)
        arrays[name] = array if mmap else np.array(array)
        dims = tuple(entry["dims"])
        kind = {5: "conv", 4: "tokens"}.get(len(dims), "linear")
        layouts[name] = LayerLayout(
            name, entry["module"], kind, tuple(entry["sheet_shape"]), shape[1:], dims
        )
    return Activations(
        arrays=arrays,
        layouts=layouts,
        sound_ids=list(header["keys"]),
        pool=_POOLS[header["time_pool"]],
        raw=True,
        config=header["config"],
        path=path,
        library_version=header.get("library_version", ""),
    )
