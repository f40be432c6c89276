"""Cortical maps with statistics, on a synthetic backbone whose units have a planted arrangement.

The planted backbone reads the cochleagram directly. On each 8 × 8 sheet:

- ``tono``: unit (r, c) sums the cochleagram over a few channels whose centre moves smoothly
  from low to high frequencies along the sheet's diagonal;
- ``am``: unit (r, c) measures the power of the broadband envelope at a modulation rate that
  grows smoothly (2 → 64 Hz, log scale) along the diagonal;
- ``category``: units in a Gaussian blob respond to energy below 400 Hz (what the synthetic
  "speech" sounds have); every unit also has random, spatially independent weights on eight
  frequency bands that all sounds excite.

Planted maps must be found (p < 0.01); the same units shuffled on the sheet must not be: over
repeated seeds their p-values are not concentrated near 0.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from topoaudio_zoo.backbones import Backbone
from topoaudio_zoo.maps import (
    LabelledSounds,
    am_family,
    category_map,
    contrast_mask,
    dprime_and_t,
    family_maps,
    label_permutation_test,
    lifetime_sparseness,
    model_maps,
    morans_i,
    preset_groups,
    response_components,
    sheet_permutation_test,
    sheet_responses,
    smoothness_permutation_test,
    tone_family,
    tuning_map,
)
from topoaudio_zoo.maps.stats import _permutations
from topoaudio_zoo.stimuli import harmonic_complex, pure_tone
from topoaudio_zoo.topography import smoothness
from topoaudio_zoo.zoo import TopoAudioModel

SR = 20000
CLIP = SR  # 1 s clips: two cycles of the slowest modulation
SIDE = 8
PERMUTATIONS = 200


def _diagonal() -> np.ndarray:
    """(SIDE, SIDE) position of every unit along the sheet's diagonal, 0 … 1."""
    rows, cols = np.mgrid[:SIDE, :SIDE]
    return ((rows + cols) / (2 * SIDE - 2)).reshape(-1)


class _Planted(nn.Module):
    """``(batch, 1, channels, frames)`` cochleagram → ``(batch, units, 1, 1)``."""

    def __init__(self, kind: str, cf: np.ndarray, env_sr: float) -> None:
        super().__init__()
        self.kind = kind
        position = _diagonal()
        channels = np.arange(len(cf))
        if kind == "tono":
            low, high = np.searchsorted(cf, 60.0), np.searchsorted(cf, 7000.0)
            centre = low + position * (high - low)
            weights = np.exp(-0.5 * ((channels[None] - centre[:, None]) / 3.0) ** 2)
        elif kind == "category":
            blob = np.exp(-0.5 * ((np.mgrid[:SIDE, :SIDE] - 2.0) ** 2).sum(0) / 2.5**2)
            bands = np.array_split(np.arange(np.searchsorted(cf, 500.0), len(cf)), 8)
            band_weights = np.random.default_rng(7).standard_normal((SIDE * SIDE, 8))
            weights = np.zeros((SIDE * SIDE, len(cf)))
            for index, band in enumerate(bands):
                weights[:, band] = band_weights[:, index : index + 1] / len(band)
            low = channels[cf < 400.0]
            weights[:, low] += 10.0 * blob.reshape(-1, 1) / len(low)
        else:
            rates = np.exp(np.log(2.0) + position * np.log(32.0))
            self.register_buffer("rates", torch.tensor(rates, dtype=torch.float32))
            self.env_sr = env_sr
            return
        self.register_buffer("weights", torch.tensor(weights, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "am":
            envelope = x[:, 0].mean(dim=1)
            envelope = envelope - envelope.mean(dim=-1, keepdim=True)
            t = torch.arange(envelope.shape[-1], dtype=x.dtype) / self.env_sr
            phase = 2 * torch.pi * self.rates[:, None] * t[None]
            power = (envelope @ torch.cos(phase).T) ** 2 + (envelope @ torch.sin(phase).T) ** 2
            return power[..., None, None]
        return torch.einsum("bcft,uf->bu", x, self.weights)[..., None, None] / x.shape[-1]


class PlantedBackbone(Backbone):
    """Three 8 × 8 read-outs with planted tonotopic, AM and category arrangements."""

    def __init__(self, cf: np.ndarray, env_sr: float) -> None:
        super().__init__()
        self.tono = _Planted("tono", cf, env_sr)
        self.am = _Planted("am", cf, env_sr)
        self.category = _Planted("category", cf, env_sr)
        self.gain = nn.Parameter(torch.ones(()))  # the model's device is its parameters'
        self.num_features = 1
        self._stage_paths = {"tono": "tono", "am": "am", "category": "category"}
        self.reset_heads(None)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, 3 · 64, 1, 1)``: the three read-outs stacked."""
        x = x.unsqueeze(1) if x.ndim == 3 else x
        return torch.cat([self.tono(x), self.am(x), self.category(x)], dim=1)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        pooled = self.gain * x.mean(dim=(1, 2, 3))[:, None]
        return pooled if pre_logits else self._apply_heads(pooled)


def planted_model() -> TopoAudioModel:
    model = TopoAudioModel(
        {
            "architecture": "cochresnet18",
            "architecture_kwargs": {"width": 4},
            "cochleagram": {"overrides": {"signal_size": CLIP}},
            "heads": {"word": {"labels": ["a", "b"]}},
            "topography": {"tau": 0.0},
        }
    )
    model.backbone = PlantedBackbone(np.asarray(model.cochleagram.cf), model.cochleagram.env_sr)
    return model.eval()


def _coloured_noise(rng: np.random.Generator) -> torch.Tensor:
    """1 s of noise above 500 Hz whose 8 bands have random gains (±12 dB), RMS 0.1."""
    spectrum = np.fft.rfft(rng.standard_normal(CLIP))
    freqs = np.fft.rfftfreq(CLIP, 1 / SR)
    edges = np.geomspace(500.0, SR / 2, 9)
    gains = np.zeros_like(freqs)
    for low, high, gain in zip(edges[:-1], edges[1:], 10 ** rng.uniform(-0.6, 0.6, 8), strict=True):
        gains[(freqs >= low) & (freqs < high)] = gain
    noise = np.fft.irfft(spectrum * gains, CLIP)
    return torch.from_numpy((0.1 * noise / noise.std()).astype(np.float32))


def labelled_sounds() -> LabelledSounds:
    """36 sounds: each its category's content plus noise of a random spectral shape.

    "speech": a low harmonic complex (f0 90–130 Hz, 3 harmonics); "music": a 1.5–5 kHz tone;
    "other": nothing more. The noise excites every unit's random bands in every sound, so only
    the planted region tells speech apart. Labels: 6 EngSpeech, 6 ForSpeech, 12 Music,
    12 EnvSound.
    """
    rng = np.random.default_rng(3)
    seconds = CLIP / SR
    speech = [harmonic_complex(f0, 3, seconds, SR) for f0 in rng.uniform(90, 130, 12)]
    music = [pure_tone(f, seconds, SR) for f in rng.uniform(1500, 5000, 12)]
    other = [torch.zeros(CLIP)] * 12
    noise = torch.stack([_coloured_noise(rng) for _ in range(36)])
    waveforms = torch.stack([w[:CLIP] for w in speech + music + other]) + noise
    labels = ["EngSpeech"] * 6 + ["ForSpeech"] * 6 + ["Music"] * 12 + ["EnvSound"] * 12
    return LabelledSounds("synthetic", waveforms, labels)


@pytest.fixture(scope="module")
def model() -> TopoAudioModel:
    return planted_model()


@pytest.fixture(scope="module")
def families(model):
    return {"tonotopy": tone_family(model, count=16), "am": am_family(model, carriers=2)}


@pytest.fixture(scope="module")
def responses(model, families):
    sounds = labelled_sounds()
    parts = {
        "tonotopy": families["tonotopy"].sounds(),
        "am": families["am"].sounds(),
        "natural": sounds.waveforms,
    }
    acts = sheet_responses(model, torch.cat(list(parts.values())), ["tono", "am", "category"])
    out, start = {}, 0
    for name, part in parts.items():
        out[name] = {layer: values[start : start + len(part)] for layer, values in acts.items()}
        start += len(part)
    return out, sounds


def _shuffled(values: np.ndarray, seed: int) -> np.ndarray:
    """The same units, each moved to a random place on the sheet."""
    flat = values.reshape(len(values), -1)
    order = np.random.default_rng(seed).permutation(flat.shape[1])
    return flat[:, order].reshape(values.shape)


def _not_concentrated_near_zero(p_values: list[float]) -> None:
    p_values = np.asarray(p_values)
    assert np.mean(p_values < 0.05) <= 0.3, p_values
    assert np.median(p_values) > 0.1, p_values


# ----------------------------------------------------------------------------- statistics
def test_morans_i_is_high_for_a_gradient_negative_for_stripes_and_ignores_nan():
    rows, cols = np.mgrid[:8, :12]
    assert morans_i(rows + cols) > 0.8
    assert morans_i((cols % 2).astype(float)) < -0.4  # alternating columns
    with_hole = (rows + cols).astype(float)
    with_hole[2, 3] = np.nan
    assert morans_i(with_hole) > 0.8
    assert np.isnan(morans_i(np.ones((4, 4))))


def test_smoothness_permutation_test_reproduces_the_tdann_smoothness():
    rng = np.random.default_rng(0)
    for shape in [(12, 4, 8), (30, 8, 8), (5, 3, 11)]:
        responses = rng.standard_normal(shape)
        responses[:, 1, 2] = 0.5  # a dead unit is left out, as in topography.smoothness
        expected = smoothness(responses.reshape(shape[0], -1).T)
        assert smoothness_permutation_test(responses, 20).value == pytest.approx(expected, 1e-9)


def test_smoothness_null_is_the_tdann_smoothness_of_each_shuffled_sheet():
    rng = np.random.default_rng(3)
    for shape in [(10, 4, 8), (7, 5, 11)]:
        responses = rng.standard_normal(shape)
        responses[:, 0, 1] = 1.0  # a dead unit moves with its permutation
        units = responses.reshape(shape[0], -1)
        orders = _permutations(units.shape[1], 20, seed=4)
        shuffled = [smoothness(units[:, order].T) for order in orders]
        null = smoothness_permutation_test(responses, 20, seed=4)
        assert null.null_mean == pytest.approx(np.mean(shuffled), 1e-6)  # float32 null
        assert null.null_high == pytest.approx(np.percentile(shuffled, 95), 1e-6)


def test_sheet_null_detects_a_smooth_map_and_not_noise():
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[:16, :32]
    smooth = sheet_permutation_test(np.sin(rows / 5) + np.cos(cols / 7), 1000, seed=0)
    assert smooth.p_value < 0.01 and smooth.n_permutations == 1000
    assert smooth.null_low < smooth.null_mean < smooth.null_high < smooth.value
    p_values = [
        sheet_permutation_test(rng.standard_normal((16, 32)), 200, s).p_value for s in range(10)
    ]
    _not_concentrated_near_zero(p_values)


def test_permutation_nulls_reject_bad_arguments():
    with pytest.raises(ValueError, match="n_permutations"):
        sheet_permutation_test(np.zeros((4, 4)), 0)
    with pytest.raises(ValueError, match=r"2 × 2"):
        sheet_permutation_test(np.zeros((1, 16)), 10)
    with pytest.raises(ValueError, match=r"\(stimuli, H, W\)"):
        smoothness_permutation_test(np.zeros((4, 4)), 10)


def test_dprime_and_t_match_direct_formulas():
    rng = np.random.default_rng(2)
    values = rng.standard_normal((20, 5))
    mask = np.zeros(20, bool)
    mask[[1, 4, 7, 8, 15]] = True
    dprime, t = dprime_and_t(values, mask[None])
    a, b = values[mask], values[~mask]
    va, vb = a.var(0, ddof=1), b.var(0, ddof=1)
    np.testing.assert_allclose(dprime[0], (a.mean(0) - b.mean(0)) / np.sqrt((va + vb) / 2))
    np.testing.assert_allclose(t[0], (a.mean(0) - b.mean(0)) / np.sqrt(va / 5 + vb / 15))


def test_lifetime_sparseness_is_one_for_a_single_peak_lowest_for_a_plateau_nan_flat():
    peak, flat, plateau = [0.0, 0.0, 5.0, 0.0], [1.0] * 4, [0.0, 2.0, 2.0, 2.0]
    sparse = lifetime_sparseness(np.array([peak, flat, plateau]).T)  # (values, units)
    assert sparse[0] == pytest.approx(1.0)
    assert np.isnan(sparse[1])
    assert sparse[2] == pytest.approx(1 / 3)  # 1 / (n - 1), n = 4 values


# ----------------------------------------------------------------------- planted structure
@pytest.mark.slow
def test_planted_tonotopy_is_detected_and_shuffled_units_are_not(model, families, responses):
    tones = responses[0]["tonotopy"]["tono"]
    planted = tuning_map("tono", families["tonotopy"], tones, PERMUTATIONS)
    assert planted.morans_i.p_value < 0.01 and planted.smoothness.p_value < 0.01
    best = np.log(planted.preferred)
    assert np.corrcoef(best.reshape(-1), _diagonal())[0, 1] > 0.9  # low → high along the diagonal
    shuffled = [
        tuning_map("tono", families["tonotopy"], _shuffled(tones, seed), PERMUTATIONS, seed)
        for seed in range(10)
    ]
    _not_concentrated_near_zero([m.morans_i.p_value for m in shuffled])
    _not_concentrated_near_zero([m.smoothness.p_value for m in shuffled])


def test_planted_am_map_is_detected_and_shuffled_units_are_not(families, responses):
    am = responses[0]["am"]["am"]
    planted = tuning_map("am", families["am"], am, PERMUTATIONS)
    assert planted.control is not None and planted.curves.shape == (6, SIDE, SIDE)
    assert planted.morans_i.p_value < 0.01 and planted.smoothness.p_value < 0.01
    assert np.corrcoef(np.log(planted.preferred).reshape(-1), _diagonal())[0, 1] > 0.8
    shuffled = [
        tuning_map("am", families["am"], _shuffled(am, seed), PERMUTATIONS, seed)
        for seed in range(10)
    ]
    _not_concentrated_near_zero([m.morans_i.p_value for m in shuffled])


def test_planted_speech_region_beats_both_nulls_and_shuffled_units_do_not(responses):
    values, sounds = responses[0]["natural"]["category"], responses[1]
    planted = category_map("category", values, sounds.labels, "speech", n_permutations=PERMUTATIONS)
    assert planted.group == ("EngSpeech", "ForSpeech") and planted.n_in == 12
    assert planted.morans_i.p_value < 0.01
    assert planted.morans_i_labels.p_value < 0.01  # more clustered than random sound sets
    assert np.nanargmax(planted.dprime) // SIDE < 5  # the blob sits in the upper left
    shuffled = [
        category_map(
            "category", _shuffled(values, seed), sounds.labels, "speech", None, PERMUTATIONS, seed
        )
        for seed in range(10)
    ]
    _not_concentrated_near_zero([m.morans_i.p_value for m in shuffled])
    _not_concentrated_near_zero([m.morans_i_labels.p_value for m in shuffled])


def test_generic_smoothness_is_not_mistaken_for_a_category_region(responses):
    """A tonotopic sheet makes every d′ map smooth: the label null says it is not specific."""
    values, sounds = responses[0]["natural"]["tono"], responses[1]
    music = category_map("tono", values, sounds.labels, "music", n_permutations=PERMUTATIONS)
    assert music.morans_i.p_value < 0.01
    assert music.morans_i_labels.null_high > 0.3  # random sound sets cluster too
    assert music.morans_i.value > music.morans_i_labels.null_low


def test_label_permutation_null_draws_sets_of_the_group_size():
    sizes = []

    def record(responses, masks):
        sizes.extend(masks.sum(axis=1).tolist())
        return dprime_and_t(responses, masks)[0]

    values = np.random.default_rng(0).standard_normal((10, 3, 3))
    label_permutation_test(values, np.arange(10) < 4, record, 50)
    assert set(sizes) == {4} and len(sizes) == 51


def test_components_recover_a_speech_profile_and_its_region(responses):
    natural, sounds = responses[0]["natural"], responses[1]
    for method in ("nmf", "ica"):
        found = response_components(
            {"category": natural["category"], "tono": natural["tono"]},
            sounds.labels,
            n_components=3,
            method=method,
            n_permutations=PERMUTATIONS,
        )
        assert found.profiles.shape == (3, 36)
        assert found.weights["category"].shape == (3, SIDE, SIDE)
        assert found.categories == ("EngSpeech", "EnvSound", "ForSpeech", "Music")
        speech = (found.by_category[:, 0] + found.by_category[:, 2]) / 2
        others = found.by_category[:, [1, 3]]
        beyond = (speech > others.max(axis=1) + 0.1) | (speech < others.min(axis=1) - 0.1)
        assert np.any(beyond), (method, found.by_category)  # a component sets speech apart
        assert min(s.p_value for s in found.morans_i["category"]) < 0.01


@pytest.mark.slow
def test_model_maps_runs_every_map_in_one_call(model, families):
    sounds = labelled_sounds()
    result = model_maps(
        model,
        ["tono", "am", "category"],
        sounds,
        ["speech", "music"],
        families=list(families.values()),
        n_components=2,
        n_permutations=50,
        name="planted",
        progress=False,
    )
    data = result.to_dict()
    maps = data["layers"]["tono"]["maps"]
    assert set(maps) == {"tonotopy", "amplitude modulation", "speech", "music",
                         "component 1", "component 2"}  # fmt: skip
    assert maps["tonotopy"]["morans_i"]["p_value"] < 0.05
    assert np.asarray(maps["tonotopy"]["preferred"], dtype=float).shape == (SIDE, SIDE)
    assert data["components"]["categories"] == ["EngSpeech", "EnvSound", "ForSpeech", "Music"]
    assert set(maps["speech"]) >= {"morans_i", "morans_i_labels", "smoothness", "dprime"}


# ------------------------------------------------------------------------------ bad input
def test_unknown_preset_is_refused():
    assert preset_groups("music") == ("Music", "Song")
    with pytest.raises(ValueError, match="unknown preset 'speach'"):
        preset_groups("speach")


def test_label_set_that_does_not_match_the_sounds_is_refused(responses):
    values, sounds = responses[0]["natural"]["category"], responses[1]
    with pytest.raises(ValueError, match="35 labels for 36 sounds"):
        category_map("category", values, sounds.labels[:-1], "speech")
    with pytest.raises(ValueError, match=r"no sound is labelled \['HumVoc'\]"):
        contrast_mask(sounds.labels, preset_groups("HumVoc"), 36)


def test_a_layer_not_on_a_sheet_is_refused(model, families):
    model.backbone.reset_heads({"speaker": 7})  # 7 units: a 1 × 7 sheet
    try:
        with pytest.raises(ValueError, match="'final_speaker' is not on a 2-D sheet"):
            family_maps(model, families["am"], ["final_speaker"], 10)
    finally:
        model.backbone.reset_heads(None)


def test_tones_above_the_front_end_and_fast_modulations_are_refused(model):
    with pytest.raises(ValueError, match=r"12000 Hz tone is outside the front end's filter bank"):
        tone_family(model, high=12000.0)
    with pytest.raises(ValueError, match=r"half the cochleagram's envelope rate .* 100 Hz"):
        am_family(model, rates=(8.0, 128.0))


def test_a_family_with_fewer_than_two_values_is_refused(model):
    with pytest.raises(ValueError, match="at least 2 tones"):
        tone_family(model, count=1)
    with pytest.raises(ValueError, match="needs at least 2 parameter values"):
        am_family(model, rates=(8.0,))
