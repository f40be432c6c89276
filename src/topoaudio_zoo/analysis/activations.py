"""Unit activations laid out on the cortical sheets the topographic loss uses.

A layer's units are a conv read-out's channels (``(batch, C, freq, time)``), a transformer
read-out's features (``(batch, tokens, D)``) or a linear read-out's outputs (``(batch, units)``).
Unit ``i`` is placed at row ``i // W``, column ``i % W`` of the layer's ``H × W`` sheet
(:func:`~topoaudio_zoo.topography.to_sheet`), where TopoLoss puts its weight vector.
Activations are recorded by forward hooks on the read-out modules
(:meth:`~topoaudio_zoo.backbones.Backbone.forward_intermediates`), without gradients, on the
model's device, with the model in eval mode (its modes are restored afterwards).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from ..topography import to_sheet
from ..zoo.model import TopoAudioModel
from .activation_file import (
    DTYPES,
    ActivationFileWriter,
    Activations,
    LayerLayout,
    load_activations,
)
from .sound_sources import AudioSource, sound_batches

__all__ = ["TIME_POOLS", "extract_activations", "on_sheet"]

TIME_POOLS = ("mean", "max", None)
_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def on_sheet(output: torch.Tensor, time_pool: str | None) -> tuple[torch.Tensor, tuple[str, ...]]:
    """A read-out batch with its units on their sheet, pooled or not, and its axis names.

    Args:
        output: ``(batch, C, freq, time)`` (conv), ``(batch, tokens, D)`` (transformer, CLS
            token included) or ``(batch, units)`` (linear).
        time_pool: ``"mean"``/``"max"`` over frequency and time (conv) or over every token
            (transformer), or ``None``.

    Returns:
        ``(batch, H, W)`` pooled; unpooled ``(batch, H, W, freq, time)`` (conv) or
        ``(batch, H, W, tokens)`` (transformer); linear read-outs are always ``(batch, H, W)``.
    """
    sheet_dims = ("sound", "row", "col")
    if output.ndim == 4:
        if time_pool is None:
            return to_sheet(output, dim=1), (*sheet_dims, "freq", "time")
        pooled = output.mean(dim=(2, 3)) if time_pool == "mean" else output.amax(dim=(2, 3))
        return to_sheet(pooled, dim=1), sheet_dims
    if output.ndim == 3:
        if time_pool is None:
            return to_sheet(output.transpose(1, 2), dim=1), (*sheet_dims, "token")
        pooled = output.mean(dim=1) if time_pool == "mean" else output.amax(dim=1)
        return to_sheet(pooled, dim=1), sheet_dims
    if output.ndim == 2:
        return to_sheet(output, dim=1), sheet_dims
    raise ValueError(
        f"cannot place a read-out of shape {tuple(output.shape)} on a sheet: expected "
        "(batch, C, freq, time), (batch, tokens, D) or (batch, units)"
    )


def _as_model(model: TopoAudioModel | str | os.PathLike) -> TopoAudioModel:
    if isinstance(model, TopoAudioModel):
        return model
    if isinstance(model, str | os.PathLike):
        from ..zoo.registry import from_pretrained

        return from_pretrained(model)
    raise ValueError(
        "model: expected a TopoAudioModel, a registry name, an hf-hub: id or a model folder, "
        f"got {type(model).__name__}"
    )


def _resolve_layers(model: TopoAudioModel, layers: str | Sequence[str]) -> dict[str, str]:
    """Layer name → module path; unknown names raise ValueError listing the read-outs."""
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError("layers: expected one or more read-out names or module paths")
    if not all(isinstance(layer, str) for layer in layers):
        raise ValueError(f"layers: expected names (str), got {list(layers)!r}")
    repeated = sorted({layer for layer in layers if list(layers).count(layer) > 1})
    if repeated:
        raise ValueError(f"layers: {repeated} asked for more than once")
    return {layer: model.backbone.resolve_layer(layer) for layer in layers}


class _Sink(Protocol):
    def write(self, layer: str, start: int, rows: np.ndarray) -> None: ...
    def close(self, keys: list[str]) -> Activations: ...
    def abort(self) -> None: ...


class _MemorySink:
    """Arrays allocated once for every sound and filled batch by batch."""

    def __init__(self, n_sounds: int, layouts: list[LayerLayout], dtype: str, meta: dict) -> None:
        self.layouts = layouts
        self.meta = meta
        self.arrays = {
            layout.name: np.empty((n_sounds, *layout.sound_shape), dtype=DTYPES[dtype])
            for layout in layouts
        }

    def write(self, layer: str, start: int, rows: np.ndarray) -> None:
        self.arrays[layer][start : start + len(rows)] = rows

    def close(self, keys: list[str]) -> Activations:
        return Activations(
            arrays=self.arrays,
            layouts={layout.name: layout for layout in self.layouts},
            keys=keys,
            **self.meta,
        )

    def abort(self) -> None:
        self.arrays.clear()


class _FileSink:
    """Rows streamed into an activation file; closing opens it memory-mapped."""

    def __init__(
        self, path: Path, n_sounds: int, layouts: list[LayerLayout], dtype: str, meta: dict
    ) -> None:
        self.writer = ActivationFileWriter(path, n_sounds, layouts, dtype, **meta)

    def write(self, layer: str, start: int, rows: np.ndarray) -> None:
        self.writer.write(layer, start, rows)

    def close(self, keys: list[str]) -> Activations:
        return load_activations(self.writer.close(keys))

    def abort(self) -> None:
        self.writer.abort()


def _open_sink(
    out: str | os.PathLike | None,
    n_sounds: int,
    layouts: list[LayerLayout],
    dtype: str,
    meta: dict,
) -> _Sink:
    if out is None:
        return _MemorySink(n_sounds, layouts, dtype, meta)
    return _FileSink(Path(out), n_sounds, layouts, dtype, meta)


def extract_activations(
    model: TopoAudioModel | str | os.PathLike,
    audio: AudioSource,
    layers: str | Sequence[str],
    time_pool: str | None = "mean",
    batch_size: int = 16,
    out: str | os.PathLike | None = None,
    sr: int | None = None,
    progress: bool = True,
    dtype: str = "float32",
) -> Activations:
    """Activations of ``layers`` for every sound of ``audio``, units placed on their sheets.

    Args:
        model: a :class:`~topoaudio_zoo.zoo.TopoAudioModel`, or a registry name, ``hf-hub:``
            id or model folder (loaded with :func:`~topoaudio_zoo.from_pretrained`).
        audio: one of

            - waveforms ``(n_sounds, time)`` or ``(n_sounds, channels, time)`` (tensor or
              array) at ``sr`` Hz; keys ``sound0``, ``sound1``, …;
            - an audio file or folder (its ``.wav .flac .ogg .mp3`` files, recursively, sorted;
              keys relative to the folder), or a list of files and folders (keys as the paths);
            - a ``Dataset`` or ``DataLoader`` yielding ``{"waveform", "key"}``, or a
              DataModule (its ``predict_dataloader()``; the test split of this package's).

            Waveforms and files are made model inputs by
            :meth:`~topoaudio_zoo.zoo.TopoAudioModel.preprocess` (mono, resampled to the
            model's rate, centre crop/pad, RMS); dataset batches must already be clips of the
            model's length at its rate.
        layers: read-out names (``model.backbone.readout_layers``: ``layer1``, ``avgpool``,
            ``block3``, …) or module paths (``layer2.1``, ``blocks.0.mlp.fc1``).
        time_pool: ``"mean"`` or ``"max"`` over frequency and time (conv maps) or over every
            token, CLS included (transformers); ``None`` keeps them.
        batch_size: sounds per forward pass (a DataLoader or DataModule keeps its own).
        out: stream the activations into this file (see
            :mod:`~topoaudio_zoo.analysis.activation_file`) instead of memory; the result's
            arrays are then read-only memory maps of it.
        sr: rate in Hz of waveform input (default: the model's rate); resampled if different.
        progress: show a progress bar over batches.
        dtype: ``"float32"`` or ``"float16"`` values.

    Returns:
        :class:`~topoaudio_zoo.analysis.Activations`: ``result[layer]`` is ``(n_sounds, H, W)``
        pooled, ``(n_sounds, H, W, freq, time)`` unpooled (conv) or
        ``(n_sounds, H, W, tokens)`` unpooled (transformer); unit ``i`` at ``[:, i // W,
        i % W]``; plus ``layers``, ``sheet_shapes``, ``keys`` and the model's ``config``.

    Raises:
        ValueError: an unknown layer (listing the read-out names), a bad ``time_pool``,
            ``batch_size`` or ``dtype``, or ``out`` naming a folder.
        AudioError: (a ValueError) naming an unreadable or missing file, a missing or empty
            folder, or a dataset that does not fit the model.
    """
    from .. import __version__

    if time_pool not in TIME_POOLS:
        raise ValueError(f"time_pool: expected 'mean', 'max' or None, got {time_pool!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")
    if out is not None and Path(out).is_dir():
        raise ValueError(f"out: {out} is a folder; give the activation file's name")
    model = _as_model(model)
    paths = _resolve_layers(model, layers)
    source = sound_batches(model, audio, batch_size, sr)
    device = next(model.parameters()).device
    meta = {"config": model.config, "time_pool": time_pool, "library_version": __version__}
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    sink: _Sink | None = None
    keys: list[str] = []
    try:
        with torch.inference_mode():
            batches = tqdm(
                source.batches,
                total=source.n_batches,
                disable=not progress,
                desc="activations",
                unit="batch",
            )
            for waveforms, batch_keys in batches:
                if len(keys) + len(batch_keys) > source.n_sounds:
                    raise ValueError(f"audio: yielded more than its {source.n_sounds} sounds")
                cochleagram = model.cochleagram(waveforms.to(device))
                outputs = model.backbone.forward_intermediates(cochleagram, list(paths))
                sheets = {}
                for layer, output in outputs.items():
                    try:
                        sheets[layer] = on_sheet(output, time_pool)
                    except ValueError as err:
                        raise ValueError(f"layer {layer!r}: {err}") from err
                if sink is None:
                    layouts = [
                        LayerLayout(layer, paths[layer], tuple(values.shape[1:3]),
                                    tuple(values.shape[1:]), dims)
                        for layer, (values, dims) in sheets.items()
                    ]  # fmt: skip
                    sink = _open_sink(out, source.n_sounds, layouts, dtype, meta)
                for layer, (values, _) in sheets.items():
                    rows = values.to(_TORCH_DTYPES[dtype]).cpu().numpy()
                    sink.write(layer, len(keys), rows)
                keys += batch_keys
        if len(keys) != source.n_sounds:
            raise ValueError(f"audio: yielded {len(keys)} of its {source.n_sounds} sounds")
        return sink.close(keys)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    finally:
        for module, training in modes:
            module.training = training
