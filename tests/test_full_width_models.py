"""The full-width models: the second generation (750 steps, float32) and the longer one (1 500
steps in bf16), registered with their checksums, trained by the recipe in
``configs/cpu/w64.yaml``, and loadable offline with the full-width sheets (issue 17). The longer
τ = 5 (the embedded default) and its baseline are in the package as float16; the other
full-width models are in the repository's ``checkpoints/``."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors import safe_open

from topoaudio_zoo import from_pretrained, list_models
from topoaudio_zoo.topography.sheets import sheet_shape
from topoaudio_zoo.zoo.registry import (
    DEFAULT_BASELINE,
    DEFAULT_MODEL,
    PACKAGE_CHECKPOINTS,
    get_entry,
)

FULL_WIDTH = list_models("*cochresnet18w64*", pretrained=True)
LONG = [name for name in FULL_WIDTH if name.endswith("-long")]
ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "cpu" / "w64.yaml"
LONG_RECIPE = RECIPE.parent / "w64-long.yaml"
CHECKPOINTS = ROOT / "checkpoints"
SHIPPED_LONG = CHECKPOINTS / "w64" / "long" / "shipped"


def _config(name):
    return json.loads((get_entry(name).local_path() / "config.json").read_text())


def _results(path):
    return json.loads(path.read_text("utf-8"))["results"]


def test_the_default_and_its_baseline_are_the_longer_pair_float16_in_the_package():
    """The wheel's embedded default is the 1 500-step TopoAudio τ = 5 with its baseline, stored
    as float16 in the package; every other full-width model is in checkpoints/, as float16
    but for the 750-step τ = 25 (float32)."""
    assert (DEFAULT_MODEL, DEFAULT_BASELINE) == (
        "topoaudio-cochresnet18w64-tau5-long",
        "baseline-cochresnet18w64-long",
    )
    assert set(LONG) == {DEFAULT_MODEL, DEFAULT_BASELINE, "topoaudio-cochresnet18w64-tau25-long"}
    second = {name.removesuffix("-long") for name in LONG}
    assert second <= set(FULL_WIDTH) and len(FULL_WIDTH) == 6
    for name in FULL_WIDTH:
        entry = get_entry(name)
        assert {"full-width", "shipped"} <= set(entry.tags), name
        embedded = name in (DEFAULT_MODEL, DEFAULT_BASELINE)
        assert entry.local_path() == (PACKAGE_CHECKPOINTS if embedded else CHECKPOINTS) / name
        with safe_open(entry.local_path() / "model.safetensors", "pt") as stored:
            dtype = stored.get_tensor("backbone.conv1.weight").dtype
        float32 = name == "topoaudio-cochresnet18w64-tau25"
        assert dtype == (torch.float32 if float32 else torch.float16), name


def _assert_same_evaluation(full, half, name):
    """A float16 copy differs from its float32 model by at most 2 test clips per accuracy (0.1
    points of balanced accuracy) and 0.001 in smoothness."""
    assert half["counts"] == full["counts"], name
    for key, value in full["accuracy"].items():
        if "balanced" in key:  # a mean of per-category recalls: not a count of clips
            assert abs(half["accuracy"][key] - value) < 1e-3, (name, key)
        else:
            changed_clips = abs(half["accuracy"][key] - value) * full["counts"][key]
            assert changed_clips <= 2.5, (name, key)
    for kind in ("smoothness_response", "smoothness_weight"):
        assert all(abs(half[kind][k] - v) < 1e-3 for k, v in full[kind].items()), name


def test_float16_storage_left_the_evaluation_unchanged():
    """checkpoints/w64/float16/: each 750-step model of the package then scored beside its
    float16 copy (scripts/float16_check.sh)."""
    results = _results(CHECKPOINTS / "w64" / "float16" / "evaluation.json")
    for name in ("topoaudio-cochresnet18w64-tau5", "baseline-cochresnet18w64"):
        _assert_same_evaluation(results[name], results[f"runs/float16/{name}"], name)


def test_float16_storage_left_the_longer_models_evaluation_unchanged():
    """scripts/ship_w64_long.sh scored the three float16 zoo models on the clips its float32
    runs were scored on: the baseline and τ = 25 in checkpoints/w64/long/evaluation.json, τ = 5
    beside its copy in checkpoints/w64/long/shipped/evaluation.json."""
    shipped = _results(SHIPPED_LONG / "evaluation.json")
    float32 = _results(CHECKPOINTS / "w64" / "long" / "evaluation.json") | shipped
    tau25, tau5_float32 = "topoaudio-cochresnet18w64-tau25-long", f"runs/long/{DEFAULT_MODEL}/model"
    assert list(shipped) == [DEFAULT_BASELINE, DEFAULT_MODEL, tau25, tau5_float32]
    for name in LONG:
        _assert_same_evaluation(float32[f"runs/long/{name}/model"], shipped[name], name)


def test_full_width_models_were_trained_by_the_recipe():
    recipe = yaml.safe_load(RECIPE.read_text())
    weights = {task: spec["weight"] for task, spec in recipe["model"]["tasks"].items()}
    long_steps = yaml.safe_load(LONG_RECIPE.read_text())["trainer"]["max_steps"]
    for name in FULL_WIDTH:
        config = _config(name)
        steps = long_steps if name in LONG else recipe["trainer"]["max_steps"]
        assert config["architecture_kwargs"] == {"width": 64}, name
        assert config["training"]["steps"] == steps, name
        assert ("1 500 steps in bf16" in config["description"]) == (name in LONG), name
        assert config["training"]["task_weights"] == weights, name
        assert config["training"]["data"]["speech"] == "data/speech-commands-multi", name


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_WIDTH)
def test_full_width_model_loads_offline_on_its_sheets(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = from_pretrained(name)  # verifies the registered sha256
    stages = [getattr(model.backbone, f"layer{i}")[-1].conv2.out_channels for i in range(1, 5)]
    assert [sheet_shape(n) for n in stages] == [(8, 8), (8, 16), (16, 16), (16, 32)]
    clip = torch.randn(2, model.config["clip_samples"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = model(0.1 * clip)
    assert logits["word"].shape == (2, 35) and torch.isfinite(logits["word"]).all()


@pytest.mark.parametrize("name", FULL_WIDTH)
def test_full_width_models_carry_the_accuracies_recorded_by_their_evaluation(name):
    """The metrics in each config.json are those ``topoaudio-zoo evaluate --record`` wrote to
    checkpoints/w64/evaluation.json (scripts/evaluate_w64_models.sh) or, for the longer models,
    checkpoints/w64/long/shipped/evaluation.json (scripts/ship_w64_long.sh), with that
    evaluation's protocol, and include word accuracy on held-out voices and on the held-out
    speech engine."""
    folder = SHIPPED_LONG if name in LONG else CHECKPOINTS / "w64"
    evaluation = json.loads((folder / "evaluation.json").read_text("utf-8"))
    metrics = _config(name)["metrics"]
    recorded = {key: entry["value"] for key, entry in metrics.items()}
    assert recorded == evaluation["results"][name]["accuracy"], name
    assert {"word_top1_heldout_voices", "word_top1_heldout_engines"} <= recorded.keys(), name
    assert {"background_top1_all", "background_balanced_top1_all"} <= recorded.keys(), name
    for key, entry in metrics.items():
        assert evaluation["protocol"] in entry["protocol"], key


LEVERS = sorted((ROOT / "configs" / "cpu").glob("w64-tau25-lever-*.yaml"))


@pytest.mark.parametrize("overlay", LEVERS, ids=lambda path: path.stem)
def test_each_speech_music_lever_continues_tau25_with_one_setting_changed(overlay):
    """A lever (scripts/speech_music_levers.sh) starts from the registered τ = 25 model and
    changes one task weight or one TopoLoss setting (τ or φ), nothing else of the recipe; it
    logs outside runs/cpu so that no zoo model's run is touched."""
    lever = yaml.safe_load(overlay.read_text())
    recipe = yaml.safe_load(RECIPE.read_text())["model"]
    tau25 = yaml.safe_load((RECIPE.parent / "w64-tau25.yaml").read_text())["model"]
    model = lever["model"]
    assert model["init_from"] == "topoaudio-cochresnet18w64-tau25" in FULL_WIDTH
    changed = set(model) - {"name", "description", "init_from", "optimizer", "scheduler"}
    assert len(changed) == 1 and changed <= {"tasks", "topography"}, changed
    if "tasks" in model:
        differ = [t for t in recipe["tasks"] if model["tasks"][t] != recipe["tasks"][t]]
        assert model["tasks"].keys() == recipe["tasks"].keys() and len(differ) == 1
    else:
        topography, reference = model["topography"], tau25["topography"]
        assert topography.keys() == reference.keys()
        differ = [key for key in reference if topography[key] != reference[key]]
        assert differ in (["tau"], ["factor"]), differ
    assert set(lever["trainer"]) == {"max_steps", "logger"}
    assert lever["trainer"]["logger"]["init_args"] == {
        "save_dir": "runs/levers",
        "name": overlay.stem.removeprefix("w64-tau25-lever-"),
    }


@pytest.mark.parametrize(
    "folder", sorted((CHECKPOINTS / "w64" / "levers").iterdir()), ids=lambda path: path.name
)
def test_each_recorded_lever_maps_speech_and_music_beside_tau25_against_both_nulls(folder):
    """checkpoints/w64/levers/LEVER/ holds the maps scripts/speech_music_levers.sh wrote for a
    lever of configs/cpu: the lever's run beside τ = 25, speech and music tested against the
    sheet and the label-permutation nulls in every layer."""
    assert (RECIPE.parent / f"w64-tau25-lever-{folder.name}.yaml").is_file()
    maps = json.loads((folder / "maps.json").read_text("utf-8"))["models"]
    assert [m["model"] for m in maps] == [
        f"runs/levers/{folder.name}/model",
        "topoaudio-cochresnet18w64-tau25",
    ]
    for model in maps:
        assert model["n_permutations"] >= 1000
        for layer, found in model["layers"].items():
            for category in ("speech", "music"):
                tests = found["maps"][category]
                assert tests["morans_i"]["null"] == "sheet", (layer, category)
                assert tests["morans_i_labels"]["null"] == "labels", (layer, category)
                assert 0 < tests["morans_i_labels"]["p_value"] <= 1, (layer, category)


def test_the_precision_check_runs_the_tau5_recipe_short_and_bf16_changes_only_precision():
    """scripts/precision_check.sh trains configs/cpu/w64-short.yaml (the τ = 5 recipe, fewer
    steps) in float32 and with configs/cpu/bf16.yaml on top: the faster recipe may change the
    numeric precision and the memory layout, nothing else, so that the two runs compare them."""
    short = yaml.safe_load((RECIPE.parent / "w64-short.yaml").read_text())
    assert set(short["trainer"]) == {"max_steps", "logger"}
    assert (
        short["trainer"]["max_steps"] < yaml.safe_load(RECIPE.read_text())["trainer"]["max_steps"]
    )
    assert short["trainer"]["logger"]["init_args"]["save_dir"] == "runs/precision"
    assert set(short["model"]) == {"name", "description", "scheduler"}
    assert "w64-tau5.yaml" in (ROOT / "scripts" / "precision_check.sh").read_text()
    bf16 = yaml.safe_load((RECIPE.parent / "bf16.yaml").read_text())
    assert bf16 == {"trainer": {"precision": "bf16-mixed"}, "model": {"channels_last": True}}


def test_the_recorded_precision_check_scores_both_runs_of_the_short_recipe():
    """checkpoints/w64/precision/ holds what scripts/precision_check.sh measured: the float32
    and the bf16 run of configs/cpu/w64-short.yaml, trained from the same hyper-parameters but
    for the memory layout, scored on the same test split."""
    logs = CHECKPOINTS / "training_logs" / "precision"
    hparams = {p: yaml.safe_load((logs / p / "hparams.yaml").read_text()) for p in ("fp32", "bf16")}
    assert hparams["bf16"]["channels_last"] and not hparams["fp32"]["channels_last"]
    differ = {k for k in hparams["fp32"] if hparams["fp32"][k] != hparams["bf16"][k]}
    assert differ == {"name", "channels_last"}, differ
    evaluation = json.loads((CHECKPOINTS / "w64" / "precision" / "evaluation.json").read_text())
    results = evaluation["results"]
    assert list(results)[:2] == ["runs/precision/fp32/model", "runs/precision/bf16/model"]
    counts = {r["counts"]["word_top1_heldout_voices"] for r in results.values()}
    assert len(counts) == 1 and counts.pop() > 1000


def test_the_recorded_seeds_pair_each_precision_and_their_table_is_the_scripts():
    """Seeds 1 and 2 of the short recipe in both precisions (scripts/precision_check.sh): each
    pair differs in its layout only, the evaluation scores the same clips as the seed-0 one, and
    precision-pairs.md is what scripts/precision_pairs.py makes of the two evaluations."""
    logs = CHECKPOINTS / "training_logs" / "precision"
    for seed in (1, 2):
        fp32, bf16 = (
            yaml.safe_load((logs / f"{p}-seed{seed}" / "hparams.yaml").read_text())
            for p in ("fp32", "bf16")
        )
        assert {k for k in fp32 if fp32[k] != bf16[k]} == {"name", "channels_last"}, seed
        assert bf16["channels_last"] and not fp32["channels_last"]
    folder = CHECKPOINTS / "w64" / "precision"
    evaluations = [folder / "evaluation.json", folder / "evaluation-seeds.json"]
    first, seeds = (json.loads(path.read_text()) for path in evaluations)
    assert list(seeds["results"]) == [
        f"runs/precision/{run}/model" for run in ("fp32-seed1", "bf16-seed2", "fp32-seed2")
    ]
    counts = {json.dumps(r["counts"]) for e in (first, seeds) for r in e["results"].values()}
    assert len(counts) == 1 and seeds["protocol"] == first["protocol"]
    pairs = _precision_pairs()
    table = pairs.pairs_table(pairs.accuracies_by_run(evaluations))
    assert (folder / "precision-pairs.md").read_text() == table
    assert "3 seeds" in table


def _precision_pairs():
    spec = importlib.util.spec_from_file_location(
        "precision_pairs", ROOT / "scripts" / "precision_pairs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_precision_pairs_gives_bf16_minus_fp32_per_seed_and_its_t_interval(tmp_path):
    pairs = _precision_pairs()
    words = {("fp32", 0): 0.20, ("bf16", 0): 0.19, ("fp32", 1): 0.10, ("bf16", 1): 0.12}
    words |= {("fp32", 2): 0.30, ("bf16", 2): 0.30, ("bf16", 3): 0.5}  # seed 3: no pair

    def evaluation(runs):
        results = {}
        for precision, seed in runs:
            run = precision if seed == 0 else f"{precision}-seed{seed}"
            accuracy = dict.fromkeys(pairs.ACCURACIES, 0.5) | {
                "word_top1_all": words[precision, seed]
            }
            results[f"runs/precision/{run}/model"] = {"accuracy": accuracy}
        return {"protocol": "test", "results": results}

    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(evaluation([("fp32", 0), ("bf16", 0), ("bf16", 1)])))
    second.write_text(json.dumps(evaluation([("fp32", 1), ("bf16", 2), ("fp32", 2), ("bf16", 3)])))
    table = pairs.pairs_table(pairs.accuracies_by_run([first, second]))
    word_row = next(line for line in table.splitlines() if line.startswith("| word_top1_all"))
    # Δ = -1, +2, 0 points: mean +0.33, sd 1.53, t(0.975, 2) = 4.303 → half-width 3.79
    assert "20.0 / 19.0 / -1.0 | 10.0 / 12.0 / +2.0 | 30.0 / 30.0 / +0.0" in word_row
    assert "+0.3 [-3.5, +4.1]" in word_row and word_row.endswith("| 10.0 |")
    assert "3 seeds" in table and "seed 3" not in table
    background = next(line for line in table.splitlines() if "background_top1_all" in line)
    assert "+0.0 [+0.0, +0.0]" in background
    first.write_text(json.dumps({"results": {"runs/other/model": {"accuracy": {}}}}))
    with pytest.raises(ValueError, match=r"a\.json.*runs/other/model"):
        pairs.accuracies_by_run([first])


def test_the_recorded_full_bf16_run_is_the_shipped_tau5_recipe_but_for_precision():
    """bf16-full (scripts/precision_check.sh) is the whole 750-step recipe of the shipped
    float32 τ = 5 model in bf16 + channels_last, evaluated beside that model on the same clips;
    bf16-full-seed1 is the same run from another seed, scored on the same clips."""
    logs = CHECKPOINTS / "training_logs"
    shipped = yaml.safe_load(
        (logs / "topoaudio-cochresnet18w64-tau5" / "version_0" / "hparams.yaml").read_text()
    )
    bf16 = yaml.safe_load((logs / "precision" / "bf16-full" / "hparams.yaml").read_text())
    assert {k for k in shipped if shipped[k] != bf16[k]} == {"name", "description", "channels_last"}
    assert bf16["channels_last"] and not shipped["channels_last"]
    evaluation = json.loads(
        (CHECKPOINTS / "w64" / "precision" / "evaluation-full.json").read_text()
    )
    results = evaluation["results"]
    assert list(results) == ["runs/precision/bf16-full/model", "topoaudio-cochresnet18w64-tau5"]
    seed1 = json.loads(
        (CHECKPOINTS / "w64" / "precision" / "evaluation-full-seed1.json").read_text()
    )["results"]
    assert list(seed1) == ["runs/precision/bf16-full-seed1/model"]
    counts = {json.dumps(r["counts"]) for r in [*results.values(), *seed1.values()]}
    assert len(counts) == 1
    again = yaml.safe_load((logs / "precision" / "bf16-full-seed1" / "hparams.yaml").read_text())
    assert {k for k in bf16 if bf16[k] != again[k]} == {"name"}  # the seed is not a hyper-parameter


def test_the_longer_schedule_only_doubles_the_step_budget_of_the_recipe():
    """scripts/train_w64_long.sh trains the baseline, τ = 25 and τ = 5 with
    configs/cpu/w64-long.yaml and configs/cpu/bf16.yaml on top of the full-width recipe: twice
    the steps, its own run folder, and nothing else changed (data, seed, warm-up, schedule,
    tasks)."""
    long = yaml.safe_load(LONG_RECIPE.read_text())
    assert set(long) == {"trainer"} and set(long["trainer"]) == {"max_steps", "logger"}
    assert (
        long["trainer"]["max_steps"]
        == 2 * yaml.safe_load(RECIPE.read_text())["trainer"]["max_steps"]
    )
    assert long["trainer"]["logger"]["init_args"] == {"save_dir": "runs/long"}
    script = (ROOT / "scripts" / "train_w64_long.sh").read_text()
    assert "--config configs/cpu/w64-long.yaml --config configs/cpu/bf16.yaml" in script
    for overlay in ("w64-tau25.yaml", "w64-tau5.yaml"):
        assert f"configs/cpu/{overlay}" in script, overlay


def test_the_recorded_longer_runs_are_the_second_generation_recipe_trained_twice_as_long():
    """The 1 500-step runs (scripts/train_w64_long.sh) have the hyper-parameters of the 750-step
    models but for bf16's channels_last, are logged up to their last step, and were scored on
    the same test clips, against the longer baseline."""
    logs = CHECKPOINTS / "training_logs"
    for long_name in LONG:
        second = long_name.removesuffix("-long")
        first = yaml.safe_load((logs / second / "version_0" / "hparams.yaml").read_text())
        long = yaml.safe_load(
            (logs / "long" / long_name / "version_0" / "hparams.yaml").read_text()
        )
        assert {k for k in first if first[k] != long[k]} == {"name", "description", "channels_last"}
        metrics = (logs / "long" / long_name / "version_0" / "metrics.csv").read_text()
        assert max(int(row.split(",")[2]) for row in metrics.splitlines()[1:]) == 1499
    evaluation = json.loads((CHECKPOINTS / "w64" / "long" / "evaluation.json").read_text())
    baseline = "runs/long/baseline-cochresnet18w64-long/model"
    assert list(evaluation["results"]) == [
        baseline,
        "runs/long/topoaudio-cochresnet18w64-tau25-long/model",
    ]
    assert evaluation["acceptance"]["baseline"] == baseline
    shipped = json.loads((SHIPPED_LONG / "evaluation.json").read_text())
    assert shipped["acceptance"]["baseline"] == DEFAULT_BASELINE
    assert shipped["protocol"] == evaluation["protocol"]
    results = [*evaluation["results"].values(), *shipped["results"].values()]
    assert len({json.dumps(r["counts"]) for r in results}) == 1


def test_the_longer_models_brain_predictivity_and_maps_are_recorded_beside_the_baseline():
    """scripts/ship_w64_long.sh: NH2015 predictivity of the three zoo models beside the width-32
    baseline, and a report (maps with their statistics) of each TopoAudio model against the
    longer baseline."""
    brain = json.loads((SHIPPED_LONG / "brain" / "brain.json").read_text())
    assert set(brain["models"]) == {"cochleagram", "baseline-cochresnet18w32", *LONG}
    for name in LONG:
        if name == DEFAULT_BASELINE:
            continue
        maps = json.loads((SHIPPED_LONG / f"report-{name}" / "maps.json").read_text())["models"]
        assert [m["model"] for m in maps] == [name, DEFAULT_BASELINE]
        assert (SHIPPED_LONG / f"report-{name}" / "report.md").is_file()


def test_the_tau100_lever_is_the_tau25_recipe_with_only_tau_changed():
    """configs/cpu/w64-tau100.yaml (trained from scratch by scripts/train_w64_long.sh as a
    speech/music lever) changes TopoLoss's τ of the τ = 25 overlay and nothing else but names."""
    overlays = {
        tau: yaml.safe_load((RECIPE.parent / f"w64-tau{tau}.yaml").read_text()) for tau in (25, 100)
    }
    topography = {tau: overlay["model"].pop("topography") for tau, overlay in overlays.items()}
    assert topography[100] == topography[25] | {"tau": 100.0}
    assert set(overlays[100]["model"]) == set(overlays[25]["model"]) == {"name", "description"}
    assert (
        overlays[100]["trainer"]["logger"]["class_path"]
        == (overlays[25]["trainer"]["logger"]["class_path"])
    )
    script = (ROOT / "scripts" / "train_w64_long.sh").read_text()
    assert "configs/cpu/w64-tau100.yaml" in script and '--out "$out/report-tau100"' in script
