"""Cortical maps with statistics: preferred stimuli, category selectivity, response components.

- :mod:`~topoaudio_zoo.maps.stats`: Moran's I and TDANN smoothness, sheet- and
  label-permutation nulls.
- :mod:`~topoaudio_zoo.maps.families`: any stimulus family indexed by a parameter → tuning
  curves, preferred values and selectivity on the sheet (tonotopy, amplitude modulation).
- :mod:`~topoaudio_zoo.maps.selectivity`: per-unit d′ and t of a group of sounds vs the rest,
  NH2015 presets.
- :mod:`~topoaudio_zoo.maps.components`: NMF / ICA components of responses to natural sounds.
- :mod:`~topoaudio_zoo.maps.model_maps`: all of them for one model in one call.
- :mod:`~topoaudio_zoo.maps.plots`: the figures.
"""

from .components import ResponseComponents, response_components
from .families import (
    StimulusFamily,
    TuningMap,
    am_family,
    family_maps,
    lifetime_sparseness,
    tone_family,
    tuning_map,
)
from .model_maps import (
    LabelledSounds,
    ModelMaps,
    default_layers,
    model_maps,
    nh2015_sounds,
    topographic_layers,
)
from .responses import sheet_responses
from .selectivity import (
    NH2015_PRESETS,
    CategoryMap,
    category_map,
    contrast_mask,
    dprime_and_t,
    preset_groups,
)
from .stats import (
    MapStatistic,
    label_permutation_test,
    morans_i,
    sheet_permutation_test,
    smoothness_permutation_test,
)

__all__ = [
    "NH2015_PRESETS",
    "CategoryMap",
    "LabelledSounds",
    "MapStatistic",
    "ModelMaps",
    "ResponseComponents",
    "StimulusFamily",
    "TuningMap",
    "am_family",
    "category_map",
    "contrast_mask",
    "default_layers",
    "dprime_and_t",
    "family_maps",
    "label_permutation_test",
    "lifetime_sparseness",
    "model_maps",
    "morans_i",
    "nh2015_sounds",
    "preset_groups",
    "response_components",
    "sheet_permutation_test",
    "sheet_responses",
    "smoothness_permutation_test",
    "tone_family",
    "topographic_layers",
    "tuning_map",
]
