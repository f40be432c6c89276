"""``topoaudio-zoo list`` and ``topoaudio-zoo export`` (on a checkpoint of a real, tiny
``Trainer.fit``); ``publish`` and ``download`` are tested against a server in test_hub.py."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch
from safetensors import safe_open
from zoo_helpers import TINY_CONFIG, saved_model, write_tone

from topoaudio_zoo.cli import main
from topoaudio_zoo.data import AudioFolderDataModule
from topoaudio_zoo.training.module import TopoAudioModule
from topoaudio_zoo.zoo import ModelEntry, from_pretrained, register_model, registry

METRICS = {
    "label_top1": {"value": 0.5, "protocol": "validation split (1 clip per class), centre crop"},
    "steps": 2,
}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A Lightning checkpoint after two training steps of a width-4 CochResNet18 on tones."""
    root = tmp_path_factory.mktemp("run")
    for label, freq in (("low", 200), ("high", 900)):
        for take in range(3):
            write_tone(root / "corpus" / label / f"{take}.wav", freq + 20 * take, 16000)
    data = AudioFolderDataModule(
        str(root / "corpus"), clip_samples=4000, batch_size=2, val_fraction=0.34
    )
    module = TopoAudioModule(
        architecture="cochresnet18",
        architecture_kwargs={"width": 4},
        cochleagram={"overrides": {"signal_size": 4000}},
        topography={"tau": 1.0},
        optimizer={"name": "sgd", "lr": 0.05},
        name="tiny-tones",
        training_data={"description": "synthetic tones, 2 classes"},
    )
    trainer = L.Trainer(
        max_steps=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        default_root_dir=root,
    )
    trainer.fit(module, data)
    path = root / "tiny.ckpt"
    trainer.save_checkpoint(path)
    return path


def trained_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    return {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}


# ------------------------------------------------------------------------------------ list
def test_list_shows_descriptions_and_where_the_weights_are(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    monkeypatch.setenv("TOPOAUDIO_ZOO_CHECKPOINTS", str(tmp_path))
    saved_model(tmp_path / "shipped")
    entries = [
        ("t-both", "shipped", "org/t-both", "abc123", "shipped and published"),
        ("t-hub", None, "org/t-hub", None, "published only"),
        ("t-none", None, None, None, "untrained configuration"),
    ]
    for name, local, hub, revision, description in entries:
        register_model(
            ModelEntry(
                name=name,
                config=TINY_CONFIG,
                local_dir=local,
                hub_repo=hub,
                revision=revision,
                description=description,
            )
        )
    assert main(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "t-both  [local, hub:org/t-both@abc123]  shipped and published",
        "t-hub   [hub:org/t-hub@main]  published only",
        "t-none  [no weights]  untrained configuration",
    ]
    assert main(["list", "*hub", "--pretrained"]) == 0
    assert capsys.readouterr().out.splitlines() == ["t-hub  [hub:org/t-hub@main]  published only"]
    assert main(["list", "t-none", "--pretrained"]) == 0
    assert capsys.readouterr().out.strip() == "no models match 't-none' with weights"


def test_list_runs_on_the_real_registry(capsys):
    assert main(["list", "topoaudio-ast-tau2*"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("topoaudio-ast-tau25  [no weights]  TopoAudio paper configuration")


# ---------------------------------------------------------------------------------- export
@pytest.mark.slow
def test_export_writes_a_folder_that_loads_the_trained_weights(checkpoint, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(METRICS))
    out = tmp_path / "exported"
    argv = ["export", str(checkpoint), str(out), "--metrics", str(metrics)]

    assert main([*argv, "--name", "tiny-tones-v1"]) == 0

    assert f"wrote {out}: model.safetensors (float32" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    model = from_pretrained(out)
    expected = trained_weights(checkpoint)
    assert list(model.state_dict()) == list(expected)
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key
    config = model.config
    assert config["name"] == "tiny-tones-v1" and config["metrics"] == METRICS
    assert config["heads"] == {
        "label": {"num_classes": 2, "type": "multiclass", "labels": ["high", "low"]}
    }
    assert config["topography"]["tau"] == 1.0
    assert config["cochleagram"]["overrides"] == {"signal_size": 4000}
    assert config["training_data"] == {"description": "synthetic tones, 2 classes"}
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    training = config["training"]
    assert training["steps"] == saved["global_step"] and training["epochs"] == saved["epoch"] + 1
    assert training["optimizer"] == saved["hyper_parameters"]["optimizer"]
    card = (out / "README.md").read_text()
    assert "# tiny-tones-v1" in card
    assert "| label_top1 | 0.5 | validation split (1 clip per class), centre crop |" in card


@pytest.mark.slow
def test_export_float16_halves_the_file_and_loads_as_float32(checkpoint, tmp_path):
    assert main(["export", str(checkpoint), str(tmp_path / "full")]) == 0
    assert main(["export", str(checkpoint), str(tmp_path / "half"), "--float16"]) == 0

    with safe_open(tmp_path / "half" / "model.safetensors", "pt") as stored:
        dtypes = {key: stored.get_tensor(key).dtype for key in stored.keys()}  # noqa: SIM118
    assert dtypes["backbone.conv1.weight"] == torch.float16
    assert dtypes["backbone.bn1.num_batches_tracked"] == torch.int64
    assert {d for k, d in dtypes.items() if not k.endswith("num_batches_tracked")} == {
        torch.float16
    }
    full = (tmp_path / "full" / "model.safetensors").stat().st_size
    half = (tmp_path / "half" / "model.safetensors").stat().st_size
    assert half < 0.6 * full
    model = from_pretrained(tmp_path / "half")
    expected = trained_weights(checkpoint)
    for key, value in model.state_dict().items():
        stored = expected[key].half() if expected[key].is_floating_point() else expected[key]
        assert value.dtype == expected[key].dtype, key
        assert torch.equal(value, stored.to(value.dtype)), key


def test_export_copies_a_model_folder_as_float16_keeping_its_config(checkpoint, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(METRICS))
    full, half = tmp_path / "full", tmp_path / "half"
    assert main(["export", str(checkpoint), str(full), "--metrics", str(metrics)]) == 0
    described = ["--name", "tiny-half", "--description", "Tiny model, stored as float16."]
    assert main(["export", str(full), str(half), "--float16", *described]) == 0

    with safe_open(half / "model.safetensors", "pt") as stored:
        assert stored.get_tensor("backbone.conv1.weight").dtype == torch.float16
    source, copy = from_pretrained(full), from_pretrained(half)
    assert copy.config["name"] == "tiny-half" and copy.config["metrics"] == METRICS
    assert copy.config["description"] == "Tiny model, stored as float16."
    assert "Tiny model, stored as float16." in (half / "README.md").read_text()
    assert source.config["description"] != copy.config["description"]
    assert copy.config["heads"] == source.config["heads"]
    for key, value in copy.state_dict().items():
        expected = source.state_dict()[key]
        assert value.dtype == expected.dtype, key
        rounded = expected.half().to(expected.dtype) if expected.is_floating_point() else expected
        assert torch.equal(value, rounded), key
    with pytest.raises(SystemExit):
        main(["export", str(half), str(half), "--float16"])
    assert f"{half}: the copy must go to another folder" in capsys.readouterr().err
    assert from_pretrained(half).config["name"] == "tiny-half"  # nothing was lost


@pytest.mark.slow
def test_export_never_follows_init_from(checkpoint, tmp_path):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    ckpt["hyper_parameters"]["init_from"] = str(tmp_path / "deleted-source.ckpt")
    ckpt["hyper_parameters"]["_instantiator"] = "lightning.pytorch.cli.instantiate_module"
    torch.save(ckpt, tmp_path / "finetuned.ckpt")
    assert main(["export", str(tmp_path / "finetuned.ckpt"), str(tmp_path / "out")]) == 0
    model = from_pretrained(tmp_path / "out")
    assert torch.equal(
        model.state_dict()["backbone.conv1.weight"],
        trained_weights(checkpoint)["backbone.conv1.weight"],
    )


class _Opaque:
    """Not a tensor or plain container: weights_only loading must refuse it."""


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
@pytest.mark.slow
def test_export_reports_bad_checkpoints_and_metrics(checkpoint, tmp_path, capsys):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"garbage" * 10)
    malformed = tmp_path / "malformed.ckpt"
    malformed.write_bytes(b"\x80garbage" * 10)
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    opaque = tmp_path / "opaque.ckpt"
    torch.save({**ckpt, "extra": _Opaque()}, opaque)
    bare = tmp_path / "bare.ckpt"
    torch.save({"state_dict": ckpt["state_dict"]}, bare)
    early = tmp_path / "early.ckpt"
    hparams = {**ckpt["hyper_parameters"], "tasks": None}
    torch.save({**ckpt, "hyper_parameters": hparams}, early)
    other = tmp_path / "other.ckpt"
    wide = {**ckpt["hyper_parameters"], "architecture_kwargs": {"width": 8}}
    torch.save({**ckpt, "hyper_parameters": wide}, other)
    cases = [
        (tmp_path / "absent.ckpt", "absent.ckpt: no such checkpoint file"),
        (garbage, "garbage.ckpt: refused by torch.load(weights_only=True)"),
        (malformed, "malformed.ckpt: not a readable PyTorch checkpoint"),
        (truncated, "truncated.ckpt: not a readable PyTorch checkpoint"),
        (opaque, "Unsupported global: GLOBAL test_zoo_cli._Opaque"),
        (bare, "bare.ckpt: not a Lightning checkpoint of a TopoAudioModule"),
        (early, "early.ckpt: its tasks have no class counts"),
        (other, "hyper-parameters — shape mismatches (file vs model): backbone.bn1.bias (4,)"),
    ]
    for path, reason in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["export", str(path), str(tmp_path / "out")])
        assert exit_info.value.code == 2
        assert reason in capsys.readouterr().err, reason
    assert not (tmp_path / "out").exists()

    for content, reason in [
        ("[1, 2]", "expected a JSON object"),
        ('{"top1": "high"}', "top1: expected a finite number"),
        ('{"top1": {"value": 0.5, "split": "val"}}', "top1: unknown field(s) ['split']"),
        ("{oops", "cannot read the metrics JSON"),
    ]:
        (tmp_path / "metrics.json").write_text(content)
        with pytest.raises(SystemExit):
            main(
                [
                    "export",
                    str(checkpoint),
                    str(tmp_path / "out"),
                    "--metrics",
                    str(tmp_path / "metrics.json"),
                ]
            )
        assert f"metrics.json: {reason}" in capsys.readouterr().err
