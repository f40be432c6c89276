"""The zoo's offline API: save/load round trip, strict loading, registry, preprocessing,
prediction and the model card."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from zoo_helpers import TINY_CONFIG, assert_same_weights, saved_model, tiny_model, write_tone

import topoaudio_zoo
from topoaudio_zoo.audio import AudioError
from topoaudio_zoo.zoo import (
    ModelEntry,
    ModelNotAvailableError,
    TopoAudioModel,
    WeightsError,
    create_model,
    from_pretrained,
    list_models,
    register_model,
    registry,
)

METRICS = {"word_top1": {"value": 0.5, "protocol": "validation split, centre crop"}}


@pytest.fixture
def model() -> TopoAudioModel:
    return tiny_model(seed=3, metrics=METRICS)


def spectrum_peaks(clip: torch.Tensor, sr: int, count: int) -> list[float]:
    """The ``count`` strongest frequencies (Hz) of a ``(time,)`` clip."""
    magnitude = torch.fft.rfft(clip.double()).abs()
    bins = magnitude.topk(count).indices.sort().values
    return [float(b) * sr / clip.shape[-1] for b in bins]


# ------------------------------------------------------------------------------ round trip
@pytest.mark.slow
def test_save_pretrained_round_trip_is_identical(model, tmp_path):
    model.save_pretrained(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["README.md", "config.json", "model.safetensors"]

    for loaded in (
        TopoAudioModel.from_pretrained(tmp_path),
        from_pretrained(str(tmp_path)),
        from_pretrained(f"local-dir:{tmp_path}"),
    ):
        assert_same_weights(loaded, model)
        assert loaded.config == model.config and not loaded.training
        assert list(loaded.config["heads"]) == ["word", "noise"]
        waveform = torch.randn(2, model.clip_samples) * 0.1
        with torch.no_grad():
            expected, got = model(waveform), loaded(waveform)
        assert list(got) == list(expected) == ["word", "noise"]
        assert all(torch.equal(got[task], expected[task]) for task in expected)


def test_config_json_carries_everything_needed_to_use_the_weights(model, tmp_path):
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["cochleagram"] == {
        "preset": "cochleagram_1",
        "mode": "fast",
        "overrides": {"signal_size": 4000},
    }
    assert (config["sample_rate"], config["clip_samples"], config["rms"]) == (20000, 4000, 0.1)
    assert config["architecture"] == "cochresnet18"
    assert config["architecture_kwargs"] == {"width": 4}
    assert config["heads"] == {
        "word": {"num_classes": 3, "type": "multiclass", "labels": ["yes", "no", "up"]},
        "noise": {"num_classes": 2, "type": "multilabel", "labels": ["rain", "wind"]},
    }
    assert config["topography"] == {"tau": 25.0, "factor": [4.0, 4.0], "layers": "default"}
    assert config["training_data"] == {"description": "synthetic tones"}
    assert config["metrics"] == METRICS
    assert config["license"] == "MIT" and "2509.24039" in config["paper"]
    assert config["library_version"] == topoaudio_zoo.__version__


def test_saving_again_regenerates_the_card(model, tmp_path):
    model.save_pretrained(tmp_path)
    model.config["metrics"] = {"word_top1": {"value": 0.75, "protocol": "test split"}}
    model.save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert "| word_top1 | 0.75 | test split |" in card and "0.5 |" not in card


# ------------------------------------------------------------------------- strict loading
def test_missing_unexpected_and_wrong_dtype_keys_are_named(model, tmp_path):
    model.save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    state = load_file(weights)
    state.pop("backbone.bn1.running_var")
    state["backbone.spare.bias"] = torch.zeros(2)
    state["backbone.bn1.num_batches_tracked"] = torch.zeros((), dtype=torch.float32)
    save_file(state, weights)
    with pytest.raises(WeightsError) as error:
        from_pretrained(tmp_path)
    message = str(error.value)
    assert message.startswith(f"{tmp_path} (")
    assert "missing keys: backbone.bn1.running_var" in message
    assert "unexpected keys: backbone.spare.bias" in message
    assert "dtype mismatches (file vs model): backbone.bn1.num_batches_tracked" in message


def test_float16_weights_load_as_float32(model, tmp_path):
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    save_file(half, tmp_path / "model.safetensors")
    model.write_config_and_card(tmp_path)  # records the new file's checksum
    loaded = from_pretrained(tmp_path)
    for key, value in loaded.state_dict().items():
        expected = half[key].to(value.dtype)
        assert value.dtype == state[key].dtype and torch.equal(value, expected), key


def test_bad_config_files_are_named(model, tmp_path):
    model.save_pretrained(tmp_path)
    config_file = tmp_path / "config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "widht": 4}))
    with pytest.raises(ValueError, match=r"config\.json: model config: widht: unknown key"):
        from_pretrained(tmp_path)
    config_file.write_text("{not json")
    with pytest.raises(ValueError, match=r"cannot read .*config\.json"):
        from_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(ModelNotAvailableError, match=r"lacks model\.safetensors"):
        from_pretrained(tmp_path)


# ------------------------------------------------------------------------------- registry
def test_list_models_filters_by_pattern_and_weights(tmp_path, monkeypatch):
    assert list_models("topoaudio-ast-*") == [
        "topoaudio-ast-tau100",
        "topoaudio-ast-tau25",
        "topoaudio-ast-tau5",
        "topoaudio-ast-tau50",
    ]
    assert "baseline-cochresnet50" not in list_models(pretrained=True)

    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setenv("TOPOAUDIO_ZOO_CHECKPOINTS", str(tmp_path))
    saved_model(tmp_path / "shipped")
    for name, local, hub in [
        ("t-shipped", "shipped", None),
        ("t-not-shipped", "absent", None),
        ("t-hub", None, "org/t-hub"),
        ("t-untrained", None, None),
    ]:
        register_model(ModelEntry(name=name, config=TINY_CONFIG, local_dir=local, hub_repo=hub))
    assert list_models() == ["t-hub", "t-not-shipped", "t-shipped", "t-untrained"]
    assert list_models(pretrained=True) == ["t-hub", "t-shipped"]
    assert list_models("t-*ed", pretrained=True) == ["t-shipped"]
    assert list_models("nothing*") == []


@pytest.mark.slow
def test_shipped_weights_are_used_first_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setenv("TOPOAUDIO_ZOO_CHECKPOINTS", str(tmp_path))
    expected = saved_model(tmp_path / "shipped", seed=7)
    register_model(
        ModelEntry(
            name="t-shipped",
            config=TINY_CONFIG,
            local_dir="shipped",
            hub_repo="org/unreachable",
            revision="0" * 40,
        )
    )
    assert_same_weights(from_pretrained("t-shipped"), expected)
    assert_same_weights(create_model("t-shipped", pretrained=True), expected)


@pytest.mark.slow
def test_create_model_by_architecture_and_by_name_with_overrides():
    narrow = create_model("cochresnet18", heads={"word": 3}, width=4)
    wide = create_model("cochresnet18", heads={"word": 3}, width=8)
    assert narrow.config["architecture_kwargs"] == {"width": 4}
    assert narrow.backbone.conv1.out_channels == 4 and wide.backbone.conv1.out_channels == 8
    assert narrow.num_parameters() < wide.num_parameters()

    paper = create_model("topoaudio-cochresnet50-tau25", width=4, heads={"word": 5})
    assert paper.config["architecture"] == "cochresnet50"
    assert paper.config["topography"]["tau"] == 25.0
    assert paper.config["architecture_kwargs"] == {"width": 4}
    assert {t: h["num_classes"] for t, h in paper.config["heads"].items()} == {"word": 5}
    baseline = create_model("baseline-cochresnet50", width=4)
    assert baseline.config["topography"]["tau"] == 0.0
    assert {t: h["num_classes"] for t, h in baseline.config["heads"].items()} == {
        "word": 794,
        "speaker": 433,
        "background": 517,
    }
    assert baseline.config["heads"]["background"]["type"] == "multilabel"
    with pytest.raises(ValueError, match="invalid options for architecture 'cochresnet18'"):
        create_model("cochresnet18", widht=4)


def test_unknown_names_suggest_the_closest():
    with pytest.raises(ValueError, match="Did you mean 'cochresnet18'"):
        create_model("cochresnet-18")
    with pytest.raises(ValueError, match="Did you mean 'topoaudio-cochresnet50-tau5'"):
        from_pretrained("topoaudio-cochresnet50-tau52")
    with pytest.raises(FileNotFoundError, match=re.escape("written hf-hub:models/no-such-folder")):
        from_pretrained("models/no-such-folder")
    with pytest.raises(ValueError, match="has no pretrained weights here"):
        from_pretrained("baseline-ast")
    with pytest.raises(ValueError, match="empty revision"):
        from_pretrained("hf-hub:org/name@")


# ------------------------------------------------------------------------- preprocessing
def test_preprocess_resamples_any_rate(model):
    for sr in (16000, 44100, 8000):
        t = torch.arange(sr) / sr
        clip = model.preprocess(torch.sin(2 * math.pi * 1000 * t), sr)
        assert clip.shape == (1, model.clip_samples) and clip.dtype == torch.float32
        assert spectrum_peaks(clip[0], model.sample_rate, 1) == [1000.0]


def test_preprocess_mono_crop_pad_and_rms(model):
    t = np.arange(20000) / 20000
    stereo = np.stack([np.sin(2 * np.pi * 500 * t), np.sin(2 * np.pi * 2000 * t)])
    clip = model.preprocess(stereo, 20000)[0]
    assert spectrum_peaks(clip, 20000, 2) == [500.0, 2000.0]

    ramp = torch.arange(10000, dtype=torch.float32)
    window = ramp[3000:7000]
    expected = (window - window.mean()) / (window - window.mean()).pow(2).mean().sqrt() * 0.1
    assert torch.allclose(model.preprocess(ramp, 20000)[0], expected, atol=1e-6)

    short = torch.linspace(0.5, 1.5, 1000)  # demeaned on its own, then padded with zeros
    padded = torch.cat([torch.zeros(1500), short - short.mean(), torch.zeros(1500)])
    expected = padded / padded.pow(2).mean().sqrt() * 0.1
    clip = model.preprocess(short, 20000)[0]
    assert torch.allclose(clip, expected, atol=1e-6)
    assert abs(float(clip.mean())) < 1e-6
    assert float(clip.pow(2).mean().sqrt()) == pytest.approx(0.1, rel=1e-5)


# ---------------------------------------------------------------------------- prediction
def test_predict_files_gives_labelled_top_k_per_head(model, tmp_path):
    low = tmp_path / "low.wav"
    high = tmp_path / "high.flac"
    write_tone(low, 300, 16000)
    write_tone(high, 3000, 44100, channels=2)

    results = model.predict([low, high])

    assert [r["sound"] for r in results] == [str(low), str(high)]
    for result, path in zip(results, (low, high), strict=True):
        waveform, sr = topoaudio_zoo.audio.load_audio(path)
        with torch.no_grad():
            logits = model(model.preprocess(waveform, sr))
        words = dict(result["word"])
        assert [p for _, p in result["word"]] == sorted(words.values(), reverse=True)
        assert set(words) == {"yes", "no", "up"}
        softmax = logits["word"][0].softmax(-1)
        for index, label in enumerate(["yes", "no", "up"]):
            assert words[label] == pytest.approx(float(softmax[index]), abs=1e-6)
        noises = dict(result["noise"])
        sigmoid = logits["noise"][0].sigmoid()
        for index, label in enumerate(["rain", "wind"]):
            assert noises[label] == pytest.approx(float(sigmoid[index]), abs=1e-6)
    assert sum(dict(results[0]["word"]).values()) == pytest.approx(1.0)

    single = model.predict(str(low), top_k=1)
    assert len(single) == 1 and len(single[0]["word"]) == 1 and len(single[0]["noise"]) == 1
    assert single[0]["word"][0][0] == results[0]["word"][0][0]
    assert single[0]["word"][0][1] == pytest.approx(results[0]["word"][0][1], abs=1e-6)


def test_predict_waveforms_are_resampled_from_their_rate(model):
    t = torch.arange(16000) / 16000
    batch = torch.stack([torch.sin(2 * math.pi * 300 * t), torch.sin(2 * math.pi * 3000 * t)])
    results = model.predict(batch, sr=16000, top_k=3)
    assert [r["sound"] for r in results] == ["sound0", "sound1"]
    with torch.no_grad():
        logits = model(torch.cat([model.preprocess(row, 16000) for row in batch]))
    for row, result in enumerate(results):
        softmax = logits["word"][row].softmax(-1)
        for label, prob in result["word"]:
            index = ["yes", "no", "up"].index(label)
            assert prob == pytest.approx(float(softmax[index]), abs=1e-6)
    assert model.predict(batch[0] * 0.5, sr=16000)[0]["sound"] == "sound0"


def test_predict_reports_bad_input(model, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    with pytest.raises(AudioError, match=r"broken\.wav: unreadable"):
        model.predict(broken)
    with pytest.raises(AudioError, match=r"missing\.wav: no such audio file"):
        model.predict(tmp_path / "missing.wav")
    write_tone(tmp_path / "ok.wav", 440, 16000)
    with pytest.raises(AudioError, match="a rate is given only with waveforms"):
        model.predict(tmp_path / "ok.wav", sr=16000)
    with pytest.raises(AudioError, match="empty list"):
        model.predict([])
    with pytest.raises(AudioError, match=r"audio\[0\]: expected a file path"):
        model.predict([torch.zeros(100)])


# ------------------------------------------------------------------------------ model card
def test_model_card_states_architecture_tau_data_metrics_and_limitations(model, tmp_path):
    model.save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: topoaudio-zoo\nlicense: mit\n")
    assert "# tiny-test-model" in card
    assert '**Architecture**: `cochresnet18` {"width": 4}' in card
    assert f"{model.num_parameters():,} parameters" in card
    assert "τ = 25, φ = [4.0, 4.0]" in card
    assert '"description": "synthetic tones"' in card
    assert "| word_top1 | 0.5 | validation split, centre crop |" in card
    assert "`noise`: 2 classes (multilabel)" in card
    assert "## Limitations and intended use" in card
    assert "20 kHz mono clips of 0.2 s" in card
    baseline = tiny_model(topography={"tau": 0.0}).generate_model_card().content
    assert "none (τ = 0: a non-topographic baseline)" in baseline
    assert "No metrics recorded." in baseline
