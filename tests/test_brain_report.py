"""Features, the whole protocol on synthetic targets, the report and the command's arguments."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from topoaudio_zoo.brain import BrainTargets, evaluate_features, model_features
from topoaudio_zoo.brain.report import markdown_report, plot_best_layers, plot_layers
from topoaudio_zoo.brain.run import load_targets
from topoaudio_zoo.cli import build_parser


class _TinyNet(nn.Module):
    """Waveforms ``(batch, 400)`` → an image ``(batch, 1, 20, 20)`` → a conv read-out."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        maps = torch.relu(self.conv(x.reshape(len(x), 1, 20, 20)))
        return self.head(maps.mean(dim=(2, 3)))


def test_features_average_time_and_keep_channels_by_frequency():
    torch.manual_seed(0)
    net = _TinyNet()
    waves = torch.randn(5, 400)
    features = model_features(net, waves, ["conv"])
    assert features["conv"].shape == (5, 4 * 20)  # 4 channels x 20 "frequency" rows
    with torch.no_grad():
        expected = net.conv(waves.reshape(5, 1, 20, 20)).mean(dim=3)  # no module ReLU follows
    np.testing.assert_allclose(features["conv"], expected.reshape(5, -1).numpy(), atol=1e-5)


def test_unknown_layer_is_named():
    with pytest.raises(ValueError, match="no_such_layer"):
        model_features(_TinyNet(), torch.randn(2, 400), ["no_such_layer"])
    with pytest.raises(ValueError, match="layer2"):
        model_features("cochleagram", np.zeros((2, 40000)), ["layer2"])


def _results(tmp_path, voxels=False):
    rng = np.random.default_rng(0)
    sounds = [f"stim{i}_x" for i in range(165)]
    signal = rng.standard_normal((165, 8))
    features = {"early": rng.standard_normal((165, 30)), "late": signal}
    if voxels:
        responses = (signal @ rng.standard_normal((8, 12)))[:, :, None] + rng.standard_normal(
            (165, 12, 3)
        )
        targets = BrainTargets(
            "nh2015",
            sounds,
            responses,
            [str(i) for i in range(12)],
            participants=np.arange(12) % 3,
            rois={"all": np.ones(12, bool), "music": np.arange(12) < 6},
        )
    else:
        responses = signal @ rng.standard_normal((8, 3)) + rng.standard_normal((165, 3))
        targets = BrainTargets("nh2015-components", sounds, responses, ["a", "b", "c"])
    order = rng.permutation(165)  # features in another sound order than the targets
    shuffled = {layer: values[order] for layer, values in features.items()}
    result = evaluate_features(shuffled, [sounds[i] for i in order], targets, progress=False)
    anchor = evaluate_features(
        {"cochleagram": features["early"]}, sounds, targets, null=False, progress=False
    )
    return {
        "dataset": targets.dataset,
        "protocol": {"description": "test"},
        "models": {"cochleagram": anchor, "net": result},
    }


def test_components_best_layer_and_null(tmp_path):
    results = _results(tmp_path)
    net = results["models"]["net"]
    assert all(entry["chosen"] == {"late": 10} for entry in net["best_layer"].values())
    assert net["mean_best_layer"] > 0.5 > 0.05 > net["null"]
    assert net["per_layer"]["late"]["a"] > net["per_layer"]["early"]["a"]
    json.dumps(results)  # JSON-ready


def test_voxels_are_aggregated_per_roi_over_participants(tmp_path):
    net = _results(tmp_path, voxels=True)["models"]["net"]
    assert set(net["best_layer"]) == {"all", "music"}
    best = net["best_layer"]["all"]
    assert len(best["participants"]) == 3 and best["sem"] >= 0
    assert 0.6 < best["mean"] <= 1.0  # noise-corrected
    assert net["per_layer"]["late"]["music"]["voxels"] == 6


@pytest.mark.slow
def test_report_table_and_figures(tmp_path):
    results = _results(tmp_path)
    table = markdown_report(results)
    assert "| `net` |" in table and "| late | 8 |" in table
    for plot, name in ((plot_layers, "layers.png"), (plot_best_layers, "best.png")):
        path = plot(results, tmp_path / name)
        assert path.stat().st_size > 10_000


def test_unknown_dataset_is_named(tmp_path):
    with pytest.raises(ValueError, match="'nh2016'"):
        load_targets("nh2016", tmp_path)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["brain", "m", "--dataset", "nh2016", "--out", "x"])
    args = build_parser().parse_args(["brain", "m", "--out", "x"])
    assert args.dataset == "nh2015-components"


@pytest.mark.slow
def test_brain_command_end_to_end(tmp_path):
    from test_brain_datasets import write_nh2015

    from topoaudio_zoo import create_model
    from topoaudio_zoo.cli import main

    write_nh2015(tmp_path / "nh2015")
    torch.manual_seed(0)
    create_model("cochresnet18", heads={"word": 2}, width=4).save_pretrained(tmp_path / "m")
    out = tmp_path / "out"
    argv = ["brain", str(tmp_path / "m"), "--data-dir", str(tmp_path / "nh2015"),
            "--no-verify", "--layers", "layer1", "avgpool", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    results = json.loads((out / "brain.json").read_text())
    assert list(results["models"]) == ["cochleagram", str(tmp_path / "m")]
    model = results["models"][str(tmp_path / "m")]
    assert model["layers"] == ["layer1", "avgpool"]
    assert set(model["best_layer"]) == {
        "lowfreq",
        "highfreq",
        "envsounds",
        "pitch",
        "speech",
        "music",
    }
    assert "| `cochleagram` |" in (out / "brain.md").read_text()
    assert (out / "brain_layers.png").stat().st_size > 10_000


@pytest.mark.slow
def test_untrained_models_are_seeded_random_weights():
    from topoaudio_zoo.brain.run import load_model

    first, again = load_model("untrained:cochresnet18"), load_model("untrained:cochresnet18")
    other = load_model("untrained:cochresnet18", seed=1)
    weights = [dict(m.named_parameters())["backbone.conv1.weight"] for m in (first, again, other)]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])
    assert load_model("baseline-cochresnet18w32") == "baseline-cochresnet18w32"
    with pytest.raises(ValueError, match="no_such_model"):
        load_model("untrained:no_such_model")


class _WaveNet(nn.Module):
    """2-s waveforms at 20 kHz ``(batch, 40000)`` → a conv read-out ``(batch, 2, 200, 200)``."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 5, stride=1, padding=2)

    def forward(self, x):
        return self.conv(x.reshape(len(x), 1, 200, 200))


@pytest.mark.slow
def test_voxel_pipeline_aligns_sounds_and_aggregates_per_participant(tmp_path):
    from test_brain_datasets import write_nh2015
    from test_brain_tuckute import write_tuckute

    from topoaudio_zoo.brain.run import brain_predictivity

    write_nh2015(tmp_path / "nh2015", seed=1)
    write_tuckute(tmp_path / "tuckute", seed=2)  # another sound order than the WAV folder
    torch.manual_seed(0)
    results = brain_predictivity(
        [_WaveNet()], "nh2015", ["conv"], tmp_path / "nh2015", tmp_path / "tuckute",
        anchor=False, verify=False, progress=False,
    )  # fmt: skip
    model = results["models"]["module0"]
    assert model["layers"] == ["conv"] and model["n_features"]["conv"] == 2 * 200
    best = model["best_layer"]["all"]
    assert len(best["participants"]) == 3  # 10 voxels with 3 repetitions, participants 0-2
    assert 0 <= best["mean"] < 0.2  # random voxels: no signal
    with pytest.raises(ValueError, match="neural_dir"):
        load_targets("nh2015", tmp_path / "nh2015")


def test_paired_comparison_with_a_reference_model(tmp_path):
    from topoaudio_zoo.brain.report import sign_flip_p

    assert sign_flip_p(np.ones(6)) == pytest.approx(2 / 64)  # all 64 sign patterns
    assert sign_flip_p(np.array([1.0, -1.0])) == 1.0
    assert sign_flip_p(np.ones(20)) < 1e-4  # sampled patterns
    results = _results(tmp_path)
    table = markdown_report(results, reference="cochleagram")
    assert "## Paired comparison with `cochleagram`" in table
    assert "| `net` | +" in table and "| 3 | 0.250 |" in table  # 3 components, all better
    with pytest.raises(ValueError, match="'nope'"):
        markdown_report(results, reference="nope")
