"""Unit activations laid out on the cortical sheets the topographic loss uses.

A layer's units are a conv read-out's channels (``(batch, C, freq, time)``; ``(batch, C,
time)`` for a 1-D conv), a transformer read-out's features (``(batch, tokens, D)``) or a linear
read-out's outputs (``(batch, units)``). Unit ``i`` is placed at row ``i // W``, column
``i % W`` of the layer's ``H × W`` sheet (:func:`~topoaudio_zoo.topography.to_sheet`), where
TopoLoss puts its weight vector. Activations are recorded by forward hooks, without gradients,
on the model's device, with the model in eval mode (its modes are restored afterwards). Conv
and linear layers named by module path are read after their normalisation and non-linearity
unless ``raw=True`` (:mod:`~topoaudio_zoo.analysis.readouts`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..audio import AudioError, resample, to_mono
from ..backbones.base import capture_outputs
from ..topography import to_sheet
from ..zoo.model import TopoAudioModel
from .activation_hdf5 import DTYPES, ActivationWriter, load_activations
from .activation_result import POOLS, Activations, LayerLayout
from .readouts import read_modules
from .sound_sources import AudioSource, SoundBatches, sound_batches, waveform_batch

__all__ = ["PLAIN_MODULE_RATE", "POOLS", "extract_activations", "on_sheet"]

PLAIN_MODULE_RATE = 20000
"""Rate in Hz of the waveforms given to a plain ``torch.nn.Module``."""

_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}


def on_sheet(output: torch.Tensor, kind: str, pool: str) -> tuple[torch.Tensor, tuple[str, ...]]:
    """A read-out batch with its units on their sheet, pooled, and its axis names.

    Args:
        output: ``(batch, C, freq, time)`` (kind ``"conv"``), ``(batch, C, time)``
            (``"conv1d"``), ``(batch, tokens, D)`` (``"tokens"``, CLS included) or
            ``(batch, units)`` (``"linear"``).
        kind: as above.
        pool: ``"unit"``, ``"time"`` or ``"none"`` (see :func:`extract_activations`).

    Returns:
        ``(batch, H, W, ...)`` and the axis names ``("sound", "row", "col", ...)``.
    """
    sheet = ("sound", "row", "col")
    if kind == "conv":
        if pool == "unit":
            return to_sheet(output.mean(dim=(2, 3)), dim=1), sheet
        if pool == "time":
            return to_sheet(output.mean(dim=3), dim=1), (*sheet, "freq")
        return to_sheet(output, dim=1), (*sheet, "freq", "time")
    if kind == "conv1d":
        if pool == "none":
            return to_sheet(output, dim=1), (*sheet, "time")
        return to_sheet(output.mean(dim=2), dim=1), sheet
    if kind == "tokens":
        if pool == "none":
            return to_sheet(output.transpose(1, 2), dim=1), (*sheet, "token")
        return to_sheet(output.mean(dim=1), dim=1), sheet
    return to_sheet(output, dim=1), sheet


def _kind(output: torch.Tensor, asked: nn.Module, tokens_3d: bool) -> str:
    """The read-out's shape family; a 3-D output is tokens unless a 1-D conv produced it."""
    if output.ndim == 4:
        return "conv"
    if output.ndim == 2:
        return "linear"
    if output.ndim == 3:
        has_conv1d = any(isinstance(m, nn.Conv1d) for m in asked.modules())
        has_linear = any(isinstance(m, nn.Linear | nn.MultiheadAttention) for m in asked.modules())
        return "conv1d" if has_conv1d and not has_linear and not tokens_3d else "tokens"
    raise ValueError(
        f"cannot place a read-out of shape {tuple(output.shape)} on a sheet: expected "
        "(batch, C, freq, time), (batch, C, time), (batch, tokens, D) or (batch, units)"
    )


def _as_model(model: nn.Module | str | os.PathLike) -> nn.Module:
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, str | os.PathLike):
        from ..zoo.registry import from_pretrained

        return from_pretrained(model)
    raise ValueError(
        "model: expected a TopoAudioModel, a torch.nn.Module, a registry name, an hf-hub: id "
        f"or a model folder, got {type(model).__name__}"
    )


def _layer_list(layers: str | Sequence[str]) -> list[str]:
    if isinstance(layers, str):
        layers = [layers]
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError("layers: expected one or more read-out names or module paths")
    if not all(isinstance(layer, str) for layer in layers):
        raise ValueError(f"layers: expected names (str), got {list(layers)!r}")
    repeated = sorted({layer for layer in layers if list(layers).count(layer) > 1})
    if repeated:
        raise ValueError(f"layers: {repeated} asked for more than once")
    return list(layers)


def _module_paths(root: nn.Module, layers: list[str]) -> dict[str, str]:
    for layer in layers:
        try:
            root.get_submodule(layer)
        except AttributeError:
            raise ValueError(
                f"layers: {layer!r} is not a module path of this {type(root).__name__} (see "
                "named_modules())"
            ) from None
    return {layer: layer for layer in layers}


def _plain_batches(audio: Any, sr: int | None, batch_size: int) -> SoundBatches:
    """Waveform batches for a plain module: mono, resampled to 20 kHz, otherwise unchanged."""
    if not (torch.is_tensor(audio) or isinstance(audio, np.ndarray)):
        raise AudioError(
            "audio: a plain torch.nn.Module takes waveforms (n_sounds, time) as a tensor or "
            f"array, got {type(audio).__name__}"
        )
    waveforms = waveform_batch(audio)
    n, rate = waveforms.shape[0], PLAIN_MODULE_RATE if sr is None else sr

    def batches() -> Iterator[tuple[torch.Tensor, list[str]]]:
        for start in range(0, n, batch_size):
            rows = range(start, min(start + batch_size, n))
            chunk = waveforms[start : rows.stop].float()
            if chunk.ndim == 3:
                chunk = torch.stack([to_mono(sound) for sound in chunk])
            yield resample(chunk, rate, PLAIN_MODULE_RATE), [f"sound{i}" for i in rows]

    return SoundBatches(n, math.ceil(n / batch_size), batches())


class _Network:
    """What extraction needs of a model: hook root, layer paths, a forward pass, batches."""

    def __init__(
        self, model: nn.Module, layers: str | Sequence[str] | None, audio: Any, sr: Any, bs: int
    ) -> None:
        self.model = model
        if isinstance(model, TopoAudioModel):
            backbone = model.backbone
            self.root: nn.Module = backbone
            self.tokens_3d = True
            stages = [name for name in backbone.readout_layers if not name.startswith("final")]
            names = stages if layers is None else _layer_list(layers)
            self.paths = {name: backbone.resolve_layer(name) for name in names}
            self.config: dict[str, Any] | None = model.config
            self.source = sound_batches(model, audio, bs, sr)
            self.forward: Callable[[torch.Tensor], Any] = lambda w: backbone(model.cochleagram(w))
        else:
            if layers is None:
                raise ValueError(
                    "layers: required for a plain torch.nn.Module (give module paths from "
                    "named_modules())"
                )
            self.root, self.tokens_3d, self.config = model, False, None
            self.paths = _module_paths(model, _layer_list(layers))
            self.source = _plain_batches(audio, sr, bs)
            self.forward = model


def _layouts(read: dict[str, str], sheets: dict[str, tuple[Any, ...]]) -> list[LayerLayout]:
    """Each layer's layout from its first batch: ``sheets`` holds ``(values, dims, kind)``."""
    return [
        LayerLayout(
            name=layer,
            module=read[layer],
            kind=kind,
            sheet_shape=tuple(values.shape[1:3]),
            sound_shape=tuple(values.shape[1:]),
            dims=dims,
        )
        for layer, (values, dims, kind) in sheets.items()
    ]


def extract_activations(
    model: nn.Module | str | os.PathLike,
    audio: AudioSource,
    layers: str | Sequence[str] | None = None,
    *,
    pool: str = "unit",
    raw: bool = False,
    batch_size: int = 16,
    out: str | os.PathLike | None = None,
    sr: int | None = None,
    progress: bool = True,
    dtype: str = "float32",
) -> Activations:
    """Activations of ``layers`` for every sound of ``audio``, units placed on their sheets.

    Args:
        model: a :class:`~topoaudio_zoo.zoo.TopoAudioModel`; a registry name, ``hf-hub:`` id
            or model folder (loaded with :func:`~topoaudio_zoo.from_pretrained`); or any
            ``torch.nn.Module`` that maps a waveform batch ``(batch, samples)`` at 20 kHz to
            outputs, with ``layers`` given as its module paths.
        audio: one of

            - waveforms ``(n_sounds, time)`` or ``(n_sounds, channels, time)`` (tensor or
              array) at ``sr`` Hz; ids ``sound0``, ``sound1``, …;
            - an audio file or folder (its ``.wav .flac .ogg .mp3`` files, recursively, sorted;
              ids relative to the folder), or a list of files and folders (ids as the paths);
            - a ``Dataset`` or ``DataLoader`` yielding ``{"waveform", "key"}``, or a
              DataModule (its ``predict_dataloader()``; the test split of this package's).

            For a zoo model, waveforms and files are made model inputs by
            :meth:`~topoaudio_zoo.zoo.TopoAudioModel.preprocess` (mono, resampled to the
            model's rate, centre crop/pad, RMS); dataset batches must already be clips of the
            model's length at its rate. A plain module takes waveforms only, made mono and
            resampled to 20 kHz, otherwise as given.
        layers: read-out names (``layer1``, ``avgpool``, ``block3``, …) or module paths
            (``layer2.1``, ``layer2.1.conv2``, ``blocks.0.mlp.fc1``). Default (``None``): every
            read-out stage of the backbone (``backbone.readout_layers`` without the heads).
        pool: what each unit keeps per sound:

            - ``"unit"`` (default): one value, ``(sounds, H, W)`` — the mean over frequency
              and time (conv), over every token, CLS included (transformer);
            - ``"time"``: the mean over time only, frequency kept — conv ``(sounds, H, W,
              freq)`` (the brain-mapping feature of Tuckute et al. 2023); transformer, 1-D conv
              and linear read-outs have no frequency axis and give ``(sounds, H, W)``;
            - ``"none"``: everything — conv ``(sounds, H, W, freq, time)``, 1-D conv
              ``(sounds, H, W, time)``, transformer ``(sounds, H, W, tokens)``.

            Linear read-outs are always ``(sounds, H, W)``.
        raw: read conv and linear layers named by module path as their raw output; by default
            (``False``) they are read after their normalisation and non-linearity (a ResNet
            block's ``convK`` at the block's ``reluK``; see
            :mod:`~topoaudio_zoo.analysis.readouts`). ``result.modules`` names what was read.
        batch_size: sounds per forward pass (a DataLoader or DataModule keeps its own).
        out: stream the activations into this HDF5 file (see
            :mod:`~topoaudio_zoo.analysis.activation_hdf5`) instead of memory; the result's
            arrays are then read-only memory maps of it.
        sr: rate in Hz of waveform input (default: the model's rate, 20 kHz for a plain
            module); resampled if different.
        progress: show a progress bar over batches.
        dtype: ``"float32"`` or ``"float16"`` values.

    Returns:
        :class:`~topoaudio_zoo.analysis.Activations`, a ``Mapping`` layer → array in layer
        order; unit ``i`` at ``[:, i // W, i % W]``; with ``sound_ids``, ``sheet_shapes``,
        ``dims``, ``modules``, ``pool``, ``raw`` and the model's ``config``.

    Raises:
        ValueError: an unknown layer (listing the read-out names), a bad ``pool``,
            ``batch_size`` or ``dtype``, or ``out`` naming a folder or a ``.tacts`` file.
        AudioError: (a ValueError) naming an unreadable or missing file, a missing or empty
            folder, or a dataset that does not fit the model.
    """
    from .. import __version__

    if pool not in POOLS:
        raise ValueError(f"pool: expected one of {POOLS}, got {pool!r}")
    if not isinstance(raw, bool):
        raise ValueError(f"raw: expected True or False, got {raw!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype: expected one of {sorted(DTYPES)}, got {dtype!r}")
    if out is not None and Path(out).is_dir():
        raise ValueError(f"out: {out} is a folder; give the activation file's name")
    if out is not None and Path(out).suffix == ".tacts":
        raise ValueError(f"out: {out}: the .tacts format is retired; activation files are HDF5")
    model = _as_model(model)
    network = _Network(model, layers, audio, sr, batch_size)
    source = network.source
    parameter = next(model.parameters(), None)
    device = torch.device("cpu") if parameter is None else parameter.device
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    sound_ids: list[str] = []
    try:
        with ExitStack() as stack, torch.inference_mode():
            sink: ActivationWriter | dict[str, np.ndarray] | None = None
            read: dict[str, str] = {}
            batches = tqdm(
                source.batches,
                total=source.n_batches,
                disable=not progress,
                desc="activations",
                unit="batch",
            )
            for waveforms, batch_ids in batches:
                if len(sound_ids) + len(batch_ids) > source.n_sounds:
                    raise ValueError(f"audio: yielded more than its {source.n_sounds} sounds")
                waveforms = waveforms.to(device)
                if not read:
                    read = read_modules(
                        network.root, network.paths, raw, lambda w=waveforms[:1]: network.forward(w)
                    )
                hooked = list(dict.fromkeys(read.values()))
                outputs = capture_outputs(
                    network.root, lambda w=waveforms: network.forward(w), hooked
                )
                sheets = {}
                for layer, path in read.items():
                    asked = network.root.get_submodule(network.paths[layer])
                    try:
                        kind = _kind(outputs[path], asked, network.tokens_3d)
                    except ValueError as err:
                        raise ValueError(f"layer {layer!r}: {err}") from err
                    values, dims = on_sheet(outputs[path], kind, pool)
                    sheets[layer] = (values, dims, kind)
                if sink is None:
                    layouts = _layouts(read, sheets)
                    if out is None:
                        sink = {
                            layout.name: np.empty(
                                (source.n_sounds, *layout.sound_shape), dtype=DTYPES[dtype]
                            )
                            for layout in layouts
                        }
                    else:
                        sink = ActivationWriter(
                            stack, Path(out), source.n_sounds, layouts, dtype, pool, raw,
                            network.config, __version__,
                        )  # fmt: skip
                for layer, (values, _, _) in sheets.items():
                    rows = values.to(_TORCH_DTYPES[dtype]).cpu().numpy()
                    if isinstance(sink, dict):
                        sink[layer][len(sound_ids) : len(sound_ids) + len(rows)] = rows
                    else:
                        sink.write(layer, len(sound_ids), rows)
                sound_ids += batch_ids
            if len(sound_ids) != source.n_sounds:
                raise ValueError(f"audio: yielded {len(sound_ids)} of its {source.n_sounds} sounds")
            if isinstance(sink, ActivationWriter):
                sink.close(sound_ids)
        if out is not None:
            return load_activations(out)
        return Activations(
            arrays=sink,
            layouts={layout.name: layout for layout in layouts},
            sound_ids=sound_ids,
            pool=pool,
            raw=raw,
            config=network.config,
            library_version=__version__,
        )
    finally:
        for module, training in modes:
            module.training = training
