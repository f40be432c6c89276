"""Evaluation of trained models (accuracy on held-out data, smoothness), the acceptance check,
tonotopy maps and the evaluate command, on tiny corpora with a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from topoaudio_zoo.analysis.evaluation import acceptance, evaluate_model
from topoaudio_zoo.cli import main
from topoaudio_zoo.data import WSNDataModule
from topoaudio_zoo.data.speech_commands import heldout_engine_speakers
from topoaudio_zoo.maps import family_maps, tone_family
from topoaudio_zoo.stimuli import tone_set
from topoaudio_zoo.topography import sheet_shape
from topoaudio_zoo.zoo import TopoAudioModel

CLIP = 4000


@pytest.fixture(scope="module")
def corpora(speech_root, nsynth_root):
    return speech_root, nsynth_root


def _datamodule(corpora, **kwargs) -> WSNDataModule:
    speech, background = corpora
    dm = WSNDataModule(
        speech=str(speech), background=str(background), clip_samples=CLIP, batch_size=8, **kwargs
    )
    dm.setup("test")
    return dm


def _model(dm: WSNDataModule, seed: int = 0) -> TopoAudioModel:
    torch.manual_seed(seed)
    heads = {task: {"labels": labels} for task, labels in dm.tasks.items()}
    return TopoAudioModel(
        {
            "architecture": "cochresnet18",
            "architecture_kwargs": {"width": 4},
            "cochleagram": {"overrides": {"signal_size": CLIP}},
            "heads": heads,
            "topography": {"tau": 5.0, "factor": 2.0},
        }
    ).eval()


@pytest.mark.slow
def test_accuracy_and_counts_match_an_independent_count(corpora):
    dm = _datamodule(corpora)
    model = _model(dm)
    keys = [dm.dataset("test")[i]["key"] for i in (0, 5, 9)]
    group = {key.split("/")[1].split("_nohash_")[0] for key in keys}
    result = evaluate_model(model, dm, n_clips=6, n_tones=8, speaker_groups={"some": group})
    hits = {"word_all": 0, "word_heldout": 0, "background": 0, "word_some": 0}
    counts = dict.fromkeys(hits, 0)
    with torch.no_grad():
        for batch in dm.test_dataloader():
            logits = model(batch["waveform"])
            unseen = batch["targets"]["speaker"] == -100
            word_ok = logits["word"].argmax(-1) == batch["targets"]["word"]
            hits["word_all"] += int(word_ok.sum())
            hits["word_heldout"] += int(word_ok[unseen].sum())
            counts["word_all"] += len(word_ok)
            counts["word_heldout"] += int(unseen.sum())
            some = torch.tensor(
                [k.split("/")[1].split("_nohash_")[0] in group for k in batch["key"]]
            )
            hits["word_some"] += int(word_ok[some].sum())
            counts["word_some"] += int(some.sum())
            bg = batch["targets"]["background"]
            hits["background"] += int((logits["background"].argmax(-1) == bg).sum())
            counts["background"] += len(bg)
    accuracy = result["accuracy"]
    assert result["counts"]["word_top1_heldout_voices"] == counts["word_heldout"] > 0
    assert accuracy["word_top1_all"] == hits["word_all"] / counts["word_all"]
    assert accuracy["word_top1_heldout_voices"] == hits["word_heldout"] / counts["word_heldout"]
    assert accuracy["background_top1_all"] == hits["background"] / counts["background"]
    assert result["counts"]["word_top1_some"] == counts["word_some"] >= 3
    assert accuracy["word_top1_some"] == hits["word_some"] / counts["word_some"]
    assert result["counts"]["speaker_top1_all"] == len(dm.dataset("test")) - counts["word_heldout"]


@pytest.mark.slow
def test_smoothness_of_every_topographic_layer(corpora):
    dm = _datamodule(corpora)
    model = _model(dm)
    result = evaluate_model(model, dm, n_clips=6, n_tones=8)
    layers = model.topographic_loss().layer_names
    for kind in ("smoothness_response", "smoothness_weight"):
        assert list(result[kind]) == layers
        assert all(0.0 <= value <= 1.0 for value in result[kind].values())
    assert result["stimuli"] == {"tones": 8, "test_clips": 6}


def test_labels_of_other_data_are_refused(corpora):
    dm = _datamodule(corpora)
    pitch_model = _model(_datamodule(corpora, background_target="pitch"))
    with pytest.raises(ValueError, match="background: the data's class names differ"):
        evaluate_model(pitch_model, dm)


def _result(response: float, weight: float, word: float) -> dict:
    return {
        "accuracy": {"word_top1_heldout_voices": word},
        "smoothness_response": {"a": response, "b": response},
        "smoothness_weight": {"a": weight, "b": weight},
    }


def test_acceptance_needs_every_layer_smoother_and_word_accuracy_within_bounds():
    results = {
        "base": _result(0.2, 0.1, 0.80),
        "good": _result(0.5, 0.6, 0.78),
        "too_inaccurate": _result(0.5, 0.6, 0.76),
        "flat_layer": {**_result(0.5, 0.6, 0.80), "smoothness_weight": {"a": 0.6, "b": 0.1}},
    }
    verdicts = acceptance(results, "base")
    assert verdicts["good"]["passed"] and verdicts["good"]["not_smoother"] == []
    assert not verdicts["too_inaccurate"]["passed"]
    assert verdicts["too_inaccurate"]["word_drop"] == pytest.approx(0.04)
    assert not verdicts["flat_layer"]["passed"]
    assert verdicts["flat_layer"]["not_smoother"] == ["b (weight)"]
    with pytest.raises(ValueError, match="baseline"):
        acceptance(results, "missing")


def test_acceptance_also_bounds_the_drop_on_held_out_engines_when_scored():
    def with_engines(word: float, engines: float) -> dict:
        result = _result(0.5, 0.6, word)
        result["accuracy"]["word_top1_heldout_engines"] = engines
        return result

    results = {
        "base": {**with_engines(0.80, 0.70), "smoothness_response": {"a": 0.2, "b": 0.2}},
        "good": with_engines(0.79, 0.69),
        "worse_on_engines": with_engines(0.80, 0.60),
    }
    for name in results:
        results[name]["smoothness_weight"] = {"a": 0.6, "b": 0.6} if name != "base" else {
            "a": 0.1, "b": 0.1}  # fmt: skip
    verdicts = acceptance(results, "base", max_word_drop=0.02)
    assert verdicts["good"]["passed"]
    assert verdicts["good"]["word_drop_heldout_engines"] == pytest.approx(0.01)
    assert not verdicts["worse_on_engines"]["passed"]
    assert verdicts["worse_on_engines"]["word_drop"] == pytest.approx(0.0)
    assert (
        "word_drop_heldout_engines"
        not in acceptance({"base": _result(0.2, 0.1, 0.8), "m": _result(0.5, 0.6, 0.8)}, "base")[
            "m"
        ]
    )


def test_heldout_engine_speakers_come_from_the_corpus_speaker_table(tmp_path):
    assert heldout_engine_speakers(tmp_path) == {}  # the real release has no speakers.tsv
    (tmp_path / "speakers.tsv").write_text(
        "speaker\tengine\tvoice\tvariant\tsplit\n"
        "aaaa0001\tespeak-ng\ten+m1\trate 140\ttraining\n"
        "aaaa0002\tespeak-ng\ten+m2\trate 140\ttesting\n"
        "bbbb0001\tfestival\tkal_diphone\tstretch 1\ttesting\n"
        "bbbb0002\tfestival\tked_diphone\tstretch 1\tvalidation\n"
        "cccc0001\tflite\trms\tstretch 1\ttesting\n"
        "cccc0002\tflite\tslt\tstretch 1\ttraining\n"
    )
    assert heldout_engine_speakers(tmp_path) == {"festival": {"bbbb0001", "bbbb0002"}}
    (tmp_path / "speakers.tsv").write_text("speaker\tvoice\naaaa0001\tm1\n")
    with pytest.raises(ValueError, match=r"speakers\.tsv: expected the columns"):
        heldout_engine_speakers(tmp_path)


def test_tonotopy_maps_give_each_unit_its_best_tone(corpora):
    model = _model(_datamodule(corpora))
    freqs, tones = tone_set(model.sample_rate, model.clip_samples, count=12)
    assert tones.shape == (12, CLIP) and freqs[0] == pytest.approx(50) and freqs[-1] == 8000
    layer = "layer1.0.conv1"
    conv = dict(model.backbone.named_modules())[layer]
    with torch.no_grad():
        conv.weight[3].zero_()  # unit 3 no longer depends on the sound
    (sheet,) = family_maps(model, tone_family(model, count=12), [layer], n_permutations=20)
    assert sheet.preferred.shape == sheet_shape(conv.out_channels)
    flat = sheet.preferred.reshape(-1)
    assert np.isnan(flat[3])
    assert np.isin(flat[~np.isnan(flat)], freqs).all()
    response = "layer1.0.relu1"  # the conv's units after its batch-norm and ReLU
    with torch.no_grad():
        out = model.backbone.forward_readouts(model.cochleagram(tones), [response])[response]
    expected = freqs[out.mean(dim=(2, 3)).argmax(0).numpy()]
    tuned = ~np.isnan(flat)
    assert tuned.sum() >= conv.out_channels // 2
    np.testing.assert_array_equal(flat[tuned], expected[tuned])


@pytest.mark.slow
def test_evaluate_command_writes_results_and_records_metrics(corpora, tmp_path, capsys):
    speech, background = corpora
    dm = _datamodule(corpora)
    for seed, name in ((0, "base"), (1, "topo")):
        _model(dm, seed).save_pretrained(tmp_path / name)
    out = tmp_path / "results.json"
    args = ["evaluate", str(tmp_path / "base"), str(tmp_path / "topo"), "--speech", str(speech)]
    args += ["--background", str(background), "--cache-dir", str(tmp_path / "cache")]
    args += ["--clips", "4", "--num-workers", "0", "--baseline", str(tmp_path / "base")]
    args += ["--snr-db", "0", "12.5"]
    markdown = tmp_path / "results.md"
    assert main([*args, "--out", str(out), "--record", "--markdown", str(markdown)]) == 0
    report = json.loads(out.read_text())
    assert set(report["results"]) == {str(tmp_path / "base"), str(tmp_path / "topo")}
    verdict = report["acceptance"]["verdicts"][str(tmp_path / "topo")]
    printed = capsys.readouterr()
    assert ("PASS" if verdict["passed"] else "FAIL") in printed.out
    for name in ("base", "topo"):  # each model's scoring shows a progress bar named after it
        assert f"{tmp_path / name}: 100%" in printed.err
    recorded = json.loads((tmp_path / "topo" / "config.json").read_text())["metrics"]
    expected = report["results"][str(tmp_path / "topo")]["accuracy"]["word_top1_heldout_voices"]
    assert recorded["word_top1_heldout_voices"]["value"] == expected
    assert "held out" in recorded["word_top1_heldout_voices"]["protocol"]
    background = recorded["background_top1_all"]["protocol"]
    assert background.startswith("background family top-1 on held-out instruments; ")
    assert "SNR 0..12.5 dB" in report["protocol"]
    assert "word_top1_heldout_voices" in (tmp_path / "topo" / "README.md").read_text()
    table = markdown.read_text()
    assert f"| {tmp_path / 'topo'} | " in table and "| layer1.0.conv1 | " in table
    assert f"{100 * expected:.1f} %" in table


@pytest.mark.parametrize(
    ("background_format", "held_out"),
    [
        ("nsynth", "background family top-1 on held-out instruments"),
        ("backgrounds", "background category top-1 on held-out recordings"),
        ("esc50", "background class top-1 on the test split"),
    ],
)
def test_the_recorded_background_metric_says_what_its_test_split_holds_out(
    background_format, held_out
):
    from topoaudio_zoo.cli.evaluate import _metrics_for_config

    result = {"accuracy": {"background_top1_all": 0.5, "word_top1_all": 0.25}}
    metrics = _metrics_for_config(result, "PROTOCOL", background_format)
    assert metrics["background_top1_all"] == {"value": 0.5, "protocol": f"{held_out}; PROTOCOL"}
    assert metrics["word_top1_all"]["protocol"] == "word top-1 on all test clips; PROTOCOL"


def test_balanced_background_accuracy_sees_through_a_majority_class_guess():
    """On an unbalanced test split (3 of 4 clips in class 0), a model that always answers class
    0 scores 75 % plain top-1 but 1 / 2 balanced top-1 (the mean recall over the two classes)."""
    from topoaudio_zoo.analysis.evaluation import _accuracy

    def always_class_zero(waveform):
        return {"background": torch.tensor([[1.0, 0.0]]).repeat(len(waveform), 1)}

    batch = {
        "waveform": torch.zeros(4, 8),
        "targets": {"background": torch.tensor([0, 0, 0, 1])},
        "key": [f"yes/0000000{i}_nohash_0.wav" for i in range(4)],
    }
    accuracy, counts, _ = _accuracy(always_class_zero, [batch, batch], keep=2, speaker_groups={})
    assert accuracy["background_top1_all"] == 0.75
    assert accuracy["background_balanced_top1_all"] == 0.5
    assert counts["background_balanced_top1_all"] == counts["background_top1_all"] == 8
