"""Every map of a model in one call: tonotopy, amplitude modulation, categories, components.

:func:`model_maps` plays the tone and AM families and (optionally) a labelled natural-sound set
to a model in one pass, then computes per layer the preferred-value maps, the category d′ maps
and the response components, each with its statistics against its nulls.
:meth:`ModelMaps.to_dict` gives the JSON written by ``topoaudio-zoo maps``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..zoo.model import TopoAudioModel
from .components import ResponseComponents, response_components
from .families import StimulusFamily, TuningMap, am_family, tone_family, tuning_map
from .responses import check_on_sheet, sheet_responses
from .selectivity import CategoryMap, category_map, contrast_mask, preset_groups
from .stats import MapStatistic, smoothness_permutation_test

__all__ = [
    "LabelledSounds",
    "ModelMaps",
    "default_layers",
    "model_maps",
    "nh2015_sounds",
    "topographic_layers",
]


@dataclass(frozen=True)
class LabelledSounds:
    """A labelled sound set for category maps and response components.

    Attributes:
        name: e.g. ``"NH2015"``.
        waveforms: ``(sounds, samples)`` at the model's rate, the model's clip length.
        labels: one category per sound.
    """

    name: str
    waveforms: torch.Tensor
    labels: list[str]

    def __post_init__(self) -> None:
        if self.waveforms.ndim != 2 or len(self.labels) != len(self.waveforms):
            raise ValueError(
                f"sounds {self.name!r}: {len(self.labels)} labels for waveforms of shape "
                f"{tuple(self.waveforms.shape)}; the label set does not match the sounds"
            )


def nh2015_sounds(
    model: TopoAudioModel, data_dir: str | os.PathLike | None = None, verify: bool = True
) -> LabelledSounds:
    """The NH2015 165 natural sounds with their 11 categories, as inputs of ``model``.

    Loaded by :func:`topoaudio_zoo.brain.load_nh2015` (``data_dir``: its folder; ``verify``:
    check the files' published checksums, ``False`` for folders of your own in that layout).
    """
    from ..brain import load_nh2015

    data = load_nh2015(data_dir, verify=verify, progress=False)
    seconds = model.clip_samples / model.sample_rate
    waves = data.waveforms(sample_rate=model.sample_rate, duration=seconds)
    return LabelledSounds("NH2015", torch.as_tensor(np.asarray(waves)), list(data.categories))


def topographic_layers(model: TopoAudioModel) -> list[str]:
    """Module paths of the layers TopoLoss constrains in ``model`` (its config's, or default)."""
    layers = model.config["topography"].get("layers", "default")
    if layers in (None, "default"):
        return list(model.backbone.default_topographic_layers())
    return list(layers)


def default_layers(model: TopoAudioModel) -> list[str]:
    """The backbone's read-out stages (``conv1_relu1`` … ``avgpool``; heads left out)."""
    return [name for name in model.backbone.readout_layers if not name.startswith("final")]


@dataclass
class ModelMaps:
    """Every map of one model.

    Attributes:
        model: the model's name.
        layers: the layers mapped.
        n_permutations: draws of every null.
        tuning: ``{family name: [TuningMap per layer]}``.
        sound_set: the labelled sound set's name, or None.
        natural_smoothness: ``{layer: MapStatistic}``, TDANN smoothness of the responses to
            the labelled sounds (sheet null).
        categories: ``[CategoryMap]`` for every layer and contrast.
        components: the response components of all layers together, or None.
    """

    model: str
    layers: list[str]
    n_permutations: int
    tuning: dict[str, list[TuningMap]] = field(default_factory=dict)
    sound_set: str | None = None
    natural_smoothness: dict[str, MapStatistic] = field(default_factory=dict)
    categories: list[CategoryMap] = field(default_factory=list)
    components: ResponseComponents | None = None

    def to_dict(self) -> dict:
        """JSON-ready: per layer and map, Moran's I and smoothness with p-values, and the map.

        NaN becomes ``None``. Maps are ``H`` lists of ``W`` values: ``preferred`` in the
        family's unit, ``dprime`` for category maps, ``weights`` for components.
        """
        layers: dict[str, dict] = {}
        for layer in self.layers:
            layers[layer] = {"maps": {}}
        for family, maps in self.tuning.items():
            for item in maps:
                layers[item.layer]["sheet_shape"] = list(item.preferred.shape)
                layers[item.layer]["maps"][family] = {
                    "parameter": item.parameter,
                    "values": _clean(item.values),
                    "morans_i": item.morans_i.to_dict(),
                    "smoothness": item.smoothness.to_dict(),
                    "preferred": _clean(item.preferred),
                    "mean_selectivity": _clean(np.nanmean(item.selectivity)),
                }
        for item in self.categories:
            layers[item.layer]["maps"][item.contrast] = {
                "group": list(item.group),
                "n_in": item.n_in,
                "n_out": item.n_out,
                "morans_i": item.morans_i.to_dict(),
                "morans_i_labels": item.morans_i_labels.to_dict(),
                "smoothness": self.natural_smoothness[item.layer].to_dict(),
                "dprime": _clean(item.dprime),
            }
        components = None
        if self.components is not None:
            found = self.components
            for layer, maps in found.weights.items():
                for index, weights in enumerate(maps):
                    layers[layer]["maps"][f"component {index + 1}"] = {
                        "morans_i": found.morans_i[layer][index].to_dict(),
                        "smoothness": self.natural_smoothness[layer].to_dict(),
                        "weights": _clean(weights),
                    }
            components = {
                "method": found.method,
                "categories": list(found.categories),
                "by_category": _clean(found.by_category),
            }
        return {
            "model": self.model,
            "n_permutations": self.n_permutations,
            "sound_set": self.sound_set,
            "layers": layers,
            "components": components,
        }


def _clean(values: np.ndarray | float) -> list | float | None:
    """Nested lists of floats rounded to 6 significant digits; NaN → None."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        value = float(array)
        return None if not math.isfinite(value) else float(f"{value:.6g}")
    return [_clean(row) for row in array]


def _contrast_groups(
    contrasts: Sequence[str] | Mapping[str, Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    if isinstance(contrasts, Mapping):
        return {name: tuple(group) for name, group in contrasts.items()}
    return {name: preset_groups(name) for name in contrasts}


def model_maps(
    model: TopoAudioModel,
    layers: Sequence[str] | None = None,
    sounds: LabelledSounds | None = None,
    contrasts: Sequence[str] | Mapping[str, Sequence[str]] = ("speech", "music"),
    families: Sequence[StimulusFamily] | None = None,
    n_components: int = 6,
    method: str = "nmf",
    n_permutations: int = 1000,
    seed: int = 0,
    name: str | None = None,
    progress: bool = True,
) -> ModelMaps:
    """Tonotopy, AM, category and component maps of ``layers`` with their statistics.

    Args:
        model: the model.
        layers: read-out names or module paths on sheets of at least 2 × 2 units (default
            :func:`default_layers`).
        sounds: a labelled sound set (e.g. :func:`nh2015_sounds`) for category maps and
            components; None skips them.
        contrasts: NH2015 preset names (``speech``, ``music``, a category), or
            ``{name: group labels}`` for other label sets.
        families: stimulus families (default: :func:`tone_family` and :func:`am_family`).
        n_components: response components (0 skips them).
        method: ``"nmf"`` or ``"ica"``.
        n_permutations: draws of every null.
        seed: seed of the nulls and the factorisation.
        name: the model's name in the result (default: its architecture).
        progress: show a progress bar over layers.
    """
    layers = list(layers) if layers is not None else default_layers(model)
    groups = _contrast_groups(contrasts) if sounds is not None else {}
    for group in groups.values():  # a label set that does not fit fails before any forward pass
        contrast_mask(sounds.labels, group, len(sounds.labels))
    if families is None:
        families = [tone_family(model), am_family(model)]
    parts = [family.sounds() for family in families]
    if sounds is not None:
        parts.append(sounds.waveforms.to(parts[0].dtype))
    responses = sheet_responses(model, torch.cat(parts), layers)
    result = ModelMaps(name or model.config["architecture"], layers, n_permutations)
    bounds = np.cumsum([0, *(len(part) for part in parts)])
    natural: dict[str, np.ndarray] = {}
    for layer in tqdm(layers, desc="maps", unit="layer", disable=not progress):
        values = check_on_sheet(layer, responses[layer])
        for index, family in enumerate(families):
            part = values[bounds[index] : bounds[index + 1]]
            result.tuning.setdefault(family.name, []).append(
                tuning_map(layer, family, part, n_permutations, seed)
            )
        if sounds is None:
            continue
        natural[layer] = values[bounds[-2] :]
        result.natural_smoothness[layer] = smoothness_permutation_test(
            natural[layer], n_permutations, seed
        )
        for contrast, group in groups.items():
            result.categories.append(
                category_map(
                    layer, natural[layer], sounds.labels, contrast, group, n_permutations, seed
                )
            )
    if sounds is not None:
        result.sound_set = sounds.name
        if n_components:
            result.components = response_components(
                natural, sounds.labels, n_components, method, n_permutations, seed
            )
    return result
