"""The small (width-32) generation of trained models, in ``checkpoints/`` (no longer in the
wheel): present, loadable offline, within budget, trained with one recipe that differs only in
tau, and carrying their measured metrics."""

import json
from pathlib import Path

import pytest
import torch

from topoaudio_zoo import create_model, from_pretrained, list_models
from topoaudio_zoo.zoo.registry import get_entry

SHIPPED = list_models("*cochresnet18w32*")
SMALL_BASELINE = "baseline-cochresnet18w32"
MEGABYTE = 1_000_000
EVALUATION = Path(__file__).resolve().parents[1] / "checkpoints" / "evaluation.json"


def _folder(name):
    folder = get_entry(name).local_path()
    assert folder is not None, f"{name}: no folder in checkpoints/"
    return folder


def _config(name):
    return json.loads((_folder(name) / "config.json").read_text())


def test_a_baseline_and_at_least_two_taus_are_shipped_and_listed():
    assert {SMALL_BASELINE, "topoaudio-cochresnet18w32-tau25"} <= set(SHIPPED)
    assert set(SHIPPED) <= set(list_models(pretrained=True))
    taus = sorted(_config(name)["topography"]["tau"] for name in SHIPPED)
    assert taus[0] == 0.0 and len(set(taus) - {0.0}) >= 2


def test_shipped_weights_fit_the_size_budget():
    sizes = {name: (_folder(name) / "model.safetensors").stat().st_size for name in SHIPPED}
    assert all(size <= 15 * MEGABYTE for size in sizes.values()), sizes
    assert sum(sizes.values()) <= 60 * MEGABYTE, sizes


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_loads_offline_and_classifies_a_clip(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = from_pretrained(name)
    assert not model.training
    assert f"tau{model.config['topography']['tau']:g}" in name or "baseline" in name
    clip = torch.randn(2, model.config["clip_samples"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(0.1 * clip)
    for task, head in model.config["heads"].items():
        assert logits[task].shape == (2, head["num_classes"])
        assert len(head["labels"]) == head["num_classes"]
    untrained = create_model(name)
    trained_conv = model.backbone.conv1.weight
    assert not torch.equal(untrained.backbone.conv1.weight, trained_conv)


def test_shipped_models_share_one_recipe_except_tau():
    def recipe(name):
        config = _config(name)
        return {
            "architecture": (config["architecture"], config["architecture_kwargs"]),
            "training": config["training"],
            "heads": config["heads"],
            "factor": config["topography"]["factor"],
        }

    reference = recipe(SMALL_BASELINE)
    for name in SHIPPED:
        assert recipe(name) == reference, name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_carry_the_accuracies_recorded_by_the_evaluation(name):
    """The metrics in each config.json are those ``topoaudio-zoo evaluate`` wrote to
    checkpoints/evaluation.json (the source of the README and model card numbers), each with
    that evaluation's protocol."""
    evaluation = json.loads(EVALUATION.read_text(encoding="utf-8"))
    metrics = _config(name)["metrics"]
    assert {key: entry["value"] for key, entry in metrics.items()} == (
        evaluation["results"][name]["accuracy"]
    )
    for key, entry in metrics.items():
        assert evaluation["protocol"] in entry["protocol"], key
