"""The result of an extraction: a read-only ``Mapping`` layer name → array, with its metadata."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["POOLS", "Activations", "LayerLayout"]

POOLS = ("unit", "time", "none")
"""``pool`` options of :func:`~topoaudio_zoo.analysis.extract_activations`."""


@dataclass(frozen=True)
class LayerLayout:
    """Where a layer's units and values go.

    Attributes:
        name: the read-out name or module path asked for.
        module: the module path whose output was read (for a conv asked by path with
            ``raw=False``: the non-linearity that follows it, e.g. ``layer1.0.relu1``).
        kind: the read-out's shape family: ``"conv"`` ``(batch, C, freq, time)``, ``"conv1d"``
            ``(batch, C, time)``, ``"tokens"`` ``(batch, tokens, D)`` or ``"linear"``
            ``(batch, units)``.
        sheet_shape: ``(H, W)`` of the layer's cortical sheet.
        sound_shape: the shape of one sound's values, ``(H, W, ...)``.
        dims: axis names of the full array, e.g. ``("sound", "row", "col", "freq")``.
    """

    name: str
    module: str
    kind: str
    sheet_shape: tuple[int, int]
    sound_shape: tuple[int, ...]
    dims: tuple[str, ...]

    @property
    def n_units(self) -> int:
        """Units of the layer (``H · W``)."""
        return self.sheet_shape[0] * self.sheet_shape[1]


class Activations(Mapping[str, np.ndarray]):
    """Per-layer activations on cortical sheets: ``acts["layer1"]`` is ``(sounds, H, W, ...)``.

    A read-only ``Mapping`` in extraction order (``keys``, ``items``, ``values``, ``len``,
    ``in``, iteration over layer names). Unit ``i`` of a layer sits at ``[:, i // W, i % W]``.

    Attributes:
        sound_ids: one identifier per sound, in row order (file path, dataset key or
            ``soundI``).
        sheet_shapes: layer → ``(H, W)``.
        dims: layer → axis names, e.g. ``("sound", "row", "col", "freq", "time")``.
        modules: layer → module path whose output was read.
        layouts: layer → :class:`LayerLayout`.
        pool: ``"unit"``, ``"time"`` or ``"none"`` (see
            :func:`~topoaudio_zoo.analysis.extract_activations`).
        raw: ``True`` when conv/linear layers named by path were read before their
            normalisation and non-linearity.
        config: the model's configuration (``config.json``), or ``None`` for a plain module.
        path: the HDF5 file the arrays live in, or ``None`` when they are in memory.
        library_version: the topoaudio-zoo version that extracted them.
    """

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        layouts: dict[str, LayerLayout],
        sound_ids: list[str],
        pool: str,
        raw: bool,
        config: dict[str, Any] | None = None,
        path: Path | None = None,
        library_version: str = "",
    ) -> None:
        self._arrays = dict(arrays)
        self.layouts = dict(layouts)
        self.sound_ids = list(sound_ids)
        self.pool = pool
        self.raw = raw
        self.config = config
        self.path = path
        self.library_version = library_version

    def __getitem__(self, layer: str) -> np.ndarray:
        if layer not in self._arrays:
            raise KeyError(f"no layer {layer!r}; layers: {', '.join(self._arrays)}")
        return self._arrays[layer]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name!r}: {array.shape}" for name, array in self._arrays.items())
        where = f", path={str(self.path)!r}" if self.path else ""
        return f"Activations({{{shapes}}}, pool={self.pool!r}, raw={self.raw}{where})"

    @property
    def sheet_shapes(self) -> dict[str, tuple[int, int]]:
        """Layer → ``(H, W)``."""
        return {name: layout.sheet_shape for name, layout in self.layouts.items()}

    @property
    def dims(self) -> dict[str, tuple[str, ...]]:
        """Layer → axis names of its array."""
        return {name: layout.dims for name, layout in self.layouts.items()}

    @property
    def modules(self) -> dict[str, str]:
        """Layer → module path whose output was read."""
        return {name: layout.module for name, layout in self.layouts.items()}

    @property
    def n_sounds(self) -> int:
        """Sounds (rows of every array)."""
        return len(self.sound_ids)
