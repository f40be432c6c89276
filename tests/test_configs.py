"""Every YAML recipe in configs/ parses with ``topoaudio-zoo fit --print_config``: full recipes
alone, overlays in the commands their headers document; and the parsed model settings pass the
checks TopoAudioModule runs when it is built."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml

from topoaudio_zoo.cli import main
from topoaudio_zoo.training.checks import (
    check_architecture,
    check_tasks,
    check_topography,
)
from topoaudio_zoo.training.optim import OPTIMIZERS, SCHEDULERS, check_optimization
from topoaudio_zoo.zoo import get_entry, list_models
from topoaudio_zoo.zoo.registry import WSN_HEADS

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))
DOCUMENTED = re.compile(r"^#\s+topoaudio-zoo fit (.*--config .*)$")


def _is_overlay(path: Path) -> bool:
    return "data" not in yaml.safe_load(path.read_text())


def _documented_commands() -> list[list[str]]:
    """Every ``topoaudio-zoo fit ...`` command written in a recipe's header comments."""
    commands = []
    for path in CONFIGS:
        for line in path.read_text().splitlines():
            match = DOCUMENTED.match(line)
            if match and shlex.split(match.group(1)) not in commands:
                commands.append(shlex.split(match.group(1)))
    return commands


def _commands() -> list[list[str]]:
    alone = [["--config", str(path.relative_to(REPO))] for path in CONFIGS if not _is_overlay(path)]
    return alone + [c for c in _documented_commands() if c not in alone]


def _print_config(args: list[str], capsys, monkeypatch) -> dict:
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(sys, "argv", ["topoaudio-zoo"])  # LightningCLI reads args, not argv
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *args, "--print_config"])
    captured = capsys.readouterr()
    assert exit_info.value.code in (None, 0), captured.err[-3000:]
    return yaml.safe_load(captured.out)


def test_the_recipes_are_there_and_every_overlay_has_a_documented_command():
    names = {path.relative_to(REPO / "configs").as_posix() for path in CONFIGS}
    for tau in (5, 25, 50, 100):
        assert {f"paper/cochresnet50-tau{tau}.yaml", f"paper/ast-tau{tau}.yaml"} <= names
    assert {"paper/wsn-cochresnet50.yaml", "paper/wsn-ast.yaml"} <= names
    finetune = {"esc50", "nsynth", "speech-commands", "audio-folder", "linear-probe"}
    assert {f"finetune/{name}.yaml" for name in finetune} <= names
    documented = {Path(arg).name for command in _documented_commands() for arg in command}
    overlays = [path for path in CONFIGS if _is_overlay(path)]
    assert len(overlays) >= 10
    assert not [path.name for path in overlays if path.name not in documented]


@pytest.mark.parametrize("args", _commands(), ids=lambda args: " ".join(args))
@pytest.mark.slow
def test_every_recipe_parses_and_its_model_settings_are_valid(args, capsys, monkeypatch):
    config = _print_config(args, capsys, monkeypatch)
    model = config["model"]
    if model["init_from"] is None:
        check_architecture(model["architecture"])
    else:
        assert model["init_from"] in list_models(pretrained=True)
    check_tasks(model["tasks"])
    check_topography(model["topography"])
    check_optimization(model["optimizer"], model["scheduler"])
    last_config = [args[i + 1] for i, arg in enumerate(args) if arg == "--config"][-1]
    for key, value in yaml.safe_load((REPO / last_config).read_text())["model"].items():
        assert model[key] == value, key


def test_class_names_that_yaml_reads_as_booleans_stay_strings(tmp_path, capsys, monkeypatch):
    labels = ["no", "yes", "on", "off", "null", "1"]
    recipe = tmp_path / "labels.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model": {
                    "architecture": "cochresnet18",
                    "tasks": {"word": {"weight": 1, "labels": labels}},
                },
                "data": {
                    "class_path": "topoaudio_zoo.data.SpeechCommandsDataModule",
                    "init_args": {"root": "x"},
                },
            }
        )
    )
    printed = _print_config(["--config", str(recipe)], capsys, monkeypatch)
    assert printed["model"]["tasks"] == {"word": {"weight": 1.0, "labels": labels}}


@pytest.mark.slow
def test_each_paper_run_trains_its_registered_model_in_its_own_folder(capsys, monkeypatch):
    """Every paper recipe (architecture × τ) trains the zoo's registered paper model of its
    name (architecture, heads, τ, φ), with the published optimiser for CochResNet50 (the
    optimiser module's SGD and step defaults), at the published batch of 256; and
    ``--ckpt_path last`` and Lightning's hpc checkpoints resume the right run: each has its own
    fixed ``default_root_dir`` and checkpoint folder."""
    paper = [path for path in _commands() if "configs/paper/" in " ".join(path)]
    runs = {}
    for args in paper:
        if "single-label-background" in " ".join(args):
            continue
        config = _print_config(args, capsys, monkeypatch)
        model, trainer = config["model"], config["trainer"]
        registered = get_entry(model["name"]).config
        assert model["architecture"] == registered["architecture"]
        heads = {task: (t["num_classes"], t["type"]) for task, t in model["tasks"].items()}
        assert heads == {task: (h["num_classes"], h["type"]) for task, h in WSN_HEADS.items()}
        assert registered["heads"] == WSN_HEADS
        for key in ("tau", "factor"):
            assert model["topography"][key] == registered["topography"][key], key
        if model["architecture"] == "cochresnet50":
            assert model["optimizer"] == {"name": "sgd", **OPTIMIZERS["sgd"][1]}
            assert model["scheduler"] == {"name": "step", **SCHEDULERS["step"]}
        data = config["data"]["init_args"]
        assert data["batch_size"] * trainer["devices"] * trainer["num_nodes"] == 256
        (checkpoint,) = [c for c in trainer["callbacks"] if c["class_path"].endswith("Checkpoint")]
        folders = (trainer["default_root_dir"], checkpoint["init_args"]["dirpath"])
        name = model["name"]
        assert folders == (f"runs/paper/{name}", f"runs/paper/{name}/checkpoints")
        assert checkpoint["init_args"]["save_last"] is True
        runs[name] = folders
    paper_models = {name for name in list_models() if "paper" in get_entry(name).tags}
    assert set(runs) == paper_models
