"""hubconf.py: torch.hub.load of every registered model from a checkout (source="local")."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from zoo_helpers import assert_same_weights

import topoaudio_zoo

ROOT = Path(__file__).resolve().parents[1]
NAME = "topoaudio-cochresnet18w32-tau25"


def _hubconf():
    spec = importlib.util.spec_from_file_location("hubconf_under_test", ROOT / "hubconf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_torch_hub_loads_a_shipped_model_by_its_registry_name():
    loaded = torch.hub.load(str(ROOT), NAME, source="local", trust_repo=True, verbose=False)
    expected = topoaudio_zoo.from_pretrained(NAME)
    assert isinstance(loaded, topoaudio_zoo.TopoAudioModel) and not loaded.training
    assert loaded.config == expected.config
    assert_same_weights(loaded, expected)
    alias = NAME.replace("-", "_")
    assert_same_weights(torch.hub.load(str(ROOT), alias, source="local", verbose=False), expected)


def test_every_registered_model_is_an_entry_point():
    hubconf = _hubconf()
    for name in topoaudio_zoo.list_models():
        assert callable(getattr(hubconf, name)) and getattr(hubconf, name.replace("-", "_"))
        assert name in getattr(hubconf, name).__doc__
    assert all(importlib.util.find_spec(package) for package in hubconf.dependencies)


def test_untrained_entry_points_take_config_overrides():
    model = torch.hub.load(
        str(ROOT), NAME, source="local", pretrained=False, heads={"word": 3}, verbose=False
    )
    expected = topoaudio_zoo.from_pretrained(NAME)
    assert model.config["architecture"] == expected.config["architecture"]
    assert list(model.config["heads"]) == ["word"] and model.backbone.head_sizes == {"word": 3}
    assert not torch.equal(
        model.backbone.conv1.weight, expected.backbone.conv1.weight
    )  # not the trained weights
    with pytest.raises(ValueError, match="no pretrained weights"):
        torch.hub.load(str(ROOT), "baseline-ast", source="local", verbose=False)
