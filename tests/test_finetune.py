"""Fine-tuning: start from a zoo model folder or a Lightning checkpoint, replace or add heads,
freeze the backbone (linear probe), per-layer learning rates, keep or drop the topography."""

from __future__ import annotations

import copy
from pathlib import Path

import lightning as L
import pytest
import torch
from corpus_fixtures import SC_WORDS
from torch import nn
from training_helpers import (
    CLIP,
    COCHLEAGRAM,
    BatchCounter,
    ToyDataModule,
    quiet_trainer,
    tiny_model_kwargs,
)

from topoaudio_zoo.data import SpeechCommandsDataModule
from topoaudio_zoo.training import TopoAudioModule
from topoaudio_zoo.zoo.model import TopoAudioModel

SGD = {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4}


def speech_data(root: Path) -> SpeechCommandsDataModule:
    return SpeechCommandsDataModule(str(root), clip_samples=CLIP, batch_size=20, seed=0)


def save_zoo_model(folder: Path, heads: dict, tau: float = 0.0, width: int = 4) -> TopoAudioModel:
    """A pretrained-looking zoo model (random weights, non-trivial batch-norm statistics)."""
    torch.manual_seed(3)
    model = TopoAudioModel(
        {
            "architecture": "cochresnet18",
            "architecture_kwargs": {"width": width},
            "cochleagram": COCHLEAGRAM,
            "heads": heads,
            "topography": {"tau": tau, "factor": 2.0},
        }
    )
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.num_batches_tracked.fill_(100)
    model.save_pretrained(folder)
    return model


class InitialState(L.Callback):
    """The model's weights and buffers when training starts, before any step."""

    def on_train_start(self, trainer, pl_module) -> None:
        self.state = copy.deepcopy(pl_module.model.state_dict())


def _is_head(key: str) -> bool:
    return key.startswith("backbone.heads.")


def _start(module: TopoAudioModule, data, **trainer_kwargs) -> dict[str, torch.Tensor]:
    initial = InitialState()
    kwargs = {"max_steps": 1} | trainer_kwargs
    quiet_trainer(callbacks=[initial], **kwargs).fit(module, datamodule=data)
    return initial.state


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a, b)


@pytest.mark.slow
def test_a_zoo_folder_gives_its_backbone_architecture_and_matching_head(speech_root, tmp_path):
    source = save_zoo_model(tmp_path / "zoo", {"word": {"num_classes": 5, "labels": SC_WORDS}})
    module = TopoAudioModule(init_from=str(tmp_path / "zoo"), optimizer=SGD)
    assert module.hparams.architecture == "cochresnet18"
    assert module.hparams.architecture_kwargs == {"width": 4}
    assert module.hparams.cochleagram == COCHLEAGRAM
    start = _start(module, speech_data(speech_root))
    expected = source.state_dict()
    assert start.keys() == expected.keys()
    assert all(_same(start[key], expected[key]) for key in expected)


@pytest.mark.slow
def test_heads_of_new_tasks_are_added_and_matching_ones_kept(tmp_path):
    source = save_zoo_model(tmp_path / "zoo", {"pitch": 7, "genre": 3})
    module = TopoAudioModule(init_from=str(tmp_path / "zoo"), optimizer=SGD)
    start = _start(module, ToyDataModule())
    expected = source.state_dict()
    body = [key for key in expected if not _is_head(key)]
    assert all(_same(start[key], expected[key]) for key in body)
    for kept in ("backbone.heads.pitch.weight", "backbone.heads.pitch.bias"):
        assert _same(start[kept], expected[kept])
    assert start["backbone.heads.tags.weight"].shape == (3, source.backbone.num_features)
    assert "backbone.heads.genre.weight" not in start


@pytest.mark.slow
def test_a_head_of_another_size_is_replaced(speech_root, tmp_path):
    source = save_zoo_model(tmp_path / "zoo", {"word": 7})
    module = TopoAudioModule(init_from=str(tmp_path / "zoo"), optimizer=SGD)
    start = _start(module, speech_data(speech_root))
    expected = source.state_dict()
    assert all(_same(start[key], expected[key]) for key in expected if not _is_head(key))
    assert start["backbone.heads.word.weight"].shape == (5, source.backbone.num_features)


@pytest.mark.slow
def test_a_lightning_checkpoint_gives_its_backbone(speech_root, tmp_path):
    pretrained = TopoAudioModule(**tiny_model_kwargs())
    trainer = quiet_trainer(max_steps=2)
    trainer.fit(pretrained, datamodule=ToyDataModule())
    trainer.save_checkpoint(tmp_path / "pretrained.ckpt")

    module = TopoAudioModule(init_from=str(tmp_path / "pretrained.ckpt"), optimizer=SGD)
    assert module.hparams.architecture_kwargs == {"width": 4}
    start = _start(module, speech_data(speech_root))
    expected = pretrained.model.state_dict()
    assert all(_same(start[key], expected[key]) for key in expected if not _is_head(key))
    assert sorted(k for k in start if _is_head(k)) == [
        "backbone.heads.word.bias",
        "backbone.heads.word.weight",
    ]


@pytest.mark.filterwarnings("ignore:Found .* module\\(s\\) in eval mode:UserWarning")
@pytest.mark.slow
def test_a_linear_probe_trains_the_heads_only_and_keeps_batch_norm_statistics(
    speech_root, tmp_path
):
    save_zoo_model(tmp_path / "zoo", {"word": 5})
    module = TopoAudioModule(
        init_from=str(tmp_path / "zoo"),
        freeze_backbone=True,
        optimizer=SGD,
        topography={"tau": 5.0, "factor": 2.0},
    )
    start = _start(
        module, speech_data(speech_root), max_steps=-1, max_epochs=2, limit_val_batches=1
    )
    end = module.model.state_dict()
    body = [key for key in start if not _is_head(key)]
    assert any("running_mean" in key for key in body)
    assert all(torch.equal(start[key], end[key]) for key in body)
    assert not torch.equal(start["backbone.heads.word.weight"], end["backbone.heads.word.weight"])
    optimised = {
        id(p) for group in module.trainer.optimizers[0].param_groups for p in group["params"]
    }
    heads = {id(p) for p in module.model.backbone.heads.parameters()}
    assert optimised == heads
    assert module.trainer.global_step == 4


@pytest.mark.slow
def test_layer_lr_scales_the_lr_of_parameters_by_longest_prefix(speech_root):
    layer_lr = {
        "model.backbone.layer1": 0.1,
        "model.backbone.layer1.0": 0.5,
        "model.backbone.heads": 10,
    }
    module = TopoAudioModule(**tiny_model_kwargs(layer_lr=layer_lr))
    _start(module, speech_data(speech_root))

    def scale(name: str) -> float:
        if name.startswith("model.backbone.layer1.0."):
            return 0.5
        if name.startswith("model.backbone.layer1."):
            return 0.1
        return 10.0 if name.startswith("model.backbone.heads.") else 1.0

    lr_of = {
        id(p): group["lr"]
        for group in module.trainer.optimizers[0].param_groups
        for p in group["params"]
    }
    named = list(module.named_parameters())
    assert len(lr_of) == len(named)
    for name, param in named:
        assert lr_of[id(param)] == pytest.approx(0.05 * scale(name)), name
    assert {scale(name) for name, _ in named} == {0.1, 0.5, 1.0, 10.0}


def test_layer_lr_naming_no_parameter_fails_before_any_step(speech_root):
    module = TopoAudioModule(**tiny_model_kwargs(layer_lr={"model.backbone.layer9": 0.1}))
    counter = BatchCounter()
    with pytest.raises(
        ValueError, match=r"layer_lr: no parameter starts with \['model.backbone.la"
    ):
        quiet_trainer(max_steps=1, callbacks=[counter]).fit(
            module, datamodule=speech_data(speech_root)
        )
    assert counter.batches == 0


@pytest.mark.parametrize("tau", [0.0, 5.0])
@pytest.mark.slow
def test_the_topographic_term_is_kept_or_dropped_by_the_fine_tuning_config(tau, tmp_path):
    save_zoo_model(tmp_path / "zoo", {"pitch": 7}, tau=25.0)
    topography = {"tau": tau, "factor": 2.0}
    module = TopoAudioModule(init_from=str(tmp_path / "zoo"), optimizer=SGD, topography=topography)
    trainer = quiet_trainer(max_steps=1)
    trainer.fit(module, datamodule=ToyDataModule())
    logged = trainer.callback_metrics
    assert ("train/topo_step" in logged) == (tau > 0)
    task_losses = logged["train/loss_pitch_step"] + logged["train/loss_tags_step"]
    topo = logged["train/topo_step"] if tau > 0 else 0.0
    torch.testing.assert_close(logged["train/loss_step"], task_losses + topo)
    assert module.to_zoo_model().config["topography"]["tau"] == tau


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"architecture_kwargs": {"width": 8}}, r"has architecture_kwargs=\{'width': 4\}, but"),
        ({"architecture": "cochcnn9"}, r"has architecture='cochresnet18', but"),
        (
            {"cochleagram": {"overrides": {"signal_size": 2 * CLIP}}},
            r"has cochleagram=.*, but cochleagram=",
        ),
    ],
)
def test_init_from_a_model_of_another_architecture_fails_at_once(kwargs, match, tmp_path):
    save_zoo_model(tmp_path / "zoo", {"word": 5})
    with pytest.raises(ValueError, match=match):
        TopoAudioModule(init_from=str(tmp_path / "zoo"), **kwargs)


def test_init_from_a_missing_checkpoint_names_it(tmp_path):
    with pytest.raises(ValueError, match=r"init_from: .*missing.ckpt: no such checkpoint file"):
        TopoAudioModule(init_from=str(tmp_path / "missing.ckpt"))


def _save_lightning_checkpoint(path: Path, seed: int) -> TopoAudioModel:
    """A checkpoint as Lightning writes it (``model.``-prefixed weights, hyper-parameters)."""
    source = save_zoo_model(path.parent / f"zoo-{seed}", {"word": 5})
    with torch.no_grad():
        for param in source.parameters():
            param.normal_(generator=torch.Generator().manual_seed(seed))
    hparams = {"architecture": "cochresnet18", "architecture_kwargs": {"width": 4}}
    hparams["cochleagram"] = COCHLEAGRAM
    state = {f"model.{key}": value for key, value in source.state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": hparams}, path)
    return source


@pytest.mark.slow
def test_a_checkpoint_rewritten_at_the_same_path_is_read_afresh(tmp_path):
    path = tmp_path / "run.ckpt"
    for seed in (1, 2):
        source = _save_lightning_checkpoint(path, seed)
        module = TopoAudioModule(init_from=str(path), tasks={"word": {"num_classes": 5}})
        conv = "backbone.conv1.weight"
        assert torch.equal(module.model.state_dict()[conv], source.state_dict()[conv]), seed


def test_init_from_an_unreadable_checkpoint_gives_the_readers_reason(tmp_path):
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"garbage" * 10)
    with pytest.raises(ValueError, match=r"init_from: .*garbage.ckpt: refused by torch.load"):
        TopoAudioModule(init_from=str(garbage))
