"""A name is either a model or an architecture, never both: ``create_model(name)`` accepts
either, so a clash between the two registries is refused when the second one is registered."""

from __future__ import annotations

import pytest

from topoaudio_zoo.backbones import create_backbone, list_architectures, register_architecture
from topoaudio_zoo.backbones import registry as architectures
from topoaudio_zoo.zoo import ModelEntry, list_models, register_model
from topoaudio_zoo.zoo import registry as models


@pytest.fixture(autouse=True)
def _scratch_registries(monkeypatch):
    """Both registries as they are, restored after each test."""
    monkeypatch.setattr(architectures, "_BUILDERS", dict(architectures._BUILDERS))
    monkeypatch.setattr(models, "_REGISTRY", dict(models._REGISTRY))


def _builder(heads=None):
    return create_backbone("cochcnn9", heads=heads)


def test_a_model_named_like_an_architecture_is_refused():
    entry = ModelEntry(name="cochresnet18", config={"architecture": "cochresnet18", "heads": {}})
    with pytest.raises(ValueError, match=r"model 'cochresnet18': an architecture has this name"):
        register_model(entry)
    assert "cochresnet18" not in list_models()


def test_an_architecture_named_like_a_model_is_refused():
    taken = list_models()[0]
    with pytest.raises(ValueError, match=rf"architecture '{taken}': a registered model has"):
        register_architecture(taken)(_builder)
    assert taken not in list_architectures()


def test_distinct_names_register_in_both():
    register_architecture("test-arch")(_builder)
    register_model(ModelEntry(name="test-model", config={"architecture": "test-arch"}))
    assert "test-arch" in list_architectures() and "test-model" in list_models()
