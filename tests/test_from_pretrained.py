"""One from_pretrained: the same sources and behaviour from the package and from the class;
a registered name is never shadowed by a folder of that name."""

from __future__ import annotations

from pathlib import Path

import pytest
from zoo_helpers import TINY_CONFIG, assert_same_weights, saved_model

import topoaudio_zoo
from topoaudio_zoo.zoo import ModelEntry, TopoAudioModel, register_model, registry

LOADERS = {
    "topoaudio_zoo.from_pretrained": topoaudio_zoo.from_pretrained,
    "TopoAudioModel.from_pretrained": TopoAudioModel.from_pretrained,
}


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A registry of one shipped model, ``t-shipped`` (seed 7), and the working folder."""
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setenv("TOPOAUDIO_ZOO_CHECKPOINTS", str(tmp_path / "package"))
    expected = saved_model(tmp_path / "package" / "shipped", seed=7)
    register_model(ModelEntry(name="t-shipped", config=TINY_CONFIG, local_dir="shipped"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return expected


@pytest.mark.slow
@pytest.mark.parametrize("loader", list(LOADERS), ids=list(LOADERS))
def test_a_folder_named_like_a_registered_model_does_not_shadow_it(shipped, loader):
    load = LOADERS[loader]
    impostor = saved_model(Path("t-shipped"), seed=3)  # ./t-shipped, other weights
    assert_same_weights(load("t-shipped"), shipped)  # the bare name: the registered model
    for path in ("./t-shipped", str(Path("t-shipped").resolve()), Path("t-shipped")):
        assert_same_weights(load(path), impostor)  # a path: the folder
    assert_same_weights(load("local-dir:t-shipped"), impostor)


@pytest.mark.parametrize("loader", list(LOADERS), ids=list(LOADERS))
def test_both_loaders_accept_the_same_sources_and_fail_alike(shipped, loader):
    load = LOADERS[loader]
    saved_model(Path("mine"), seed=5)
    with pytest.raises(ValueError, match=r"unknown model 'mine'; .* give it as a path, \./mine"):
        load("mine")
    with pytest.raises(FileNotFoundError, match="written hf-hub:org/absent"):
        load("org/absent")
    with pytest.raises(ValueError, match="Did you mean 't-shipped'"):
        load("t-shiped")
    with pytest.raises(ValueError, match="empty revision"):
        load("hf-hub:org/name@")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        load("t-shipped", colour="red")
    model = load("t-shipped", map_location="cpu")
    assert type(model) is TopoAudioModel and not model.training
