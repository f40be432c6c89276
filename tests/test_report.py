"""The ``maps`` and ``report`` commands end to end on tiny saved models and a synthetic NH2015
folder (never the real sounds): the files they write and what is in them."""

from __future__ import annotations

import json
import re

import matplotlib.image
import pytest
from test_brain_datasets import write_nh2015
from zoo_helpers import saved_model

from topoaudio_zoo.cli import main
from topoaudio_zoo.cli.report import markdown_to_html
from topoaudio_zoo.maps.plots import _row_label

FAMILIES = ("tonotopy", "amplitude_modulation", "speech", "music", "components")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    saved_model(root / "topo", seed=0)
    saved_model(root / "base", seed=1)
    write_nh2015(root / "nh2015", sr=8000, seconds=0.05)
    return root


def _common(root, out):
    return [
        str(root / "topo"),
        "--baseline",
        str(root / "base"),
        "--layers",
        "layer1",
        "layer2",
        "--data-dir",
        str(root / "nh2015"),
        "--no-verify",
        "--permutations",
        "20",
        "--components",
        "2",
        "--out",
        str(out),
    ]


@pytest.mark.slow
def test_maps_command_writes_json_figures_and_summary(setup, capsys):
    out = setup / "maps"
    assert main(["maps", *_common(setup, out)]) == 0
    data = json.loads((out / "maps.json").read_text())
    topo, base = data["models"]
    assert topo["model"].endswith("topo") and base["model"].endswith("base")
    assert topo["sound_set"] == "NH2015" and topo["n_permutations"] == 20
    layer = topo["layers"]["layer2"]
    assert set(layer["maps"]) == {
        "tonotopy", "amplitude modulation", "speech", "music", "component 1", "component 2"
    }  # fmt: skip
    tonotopy = layer["maps"]["tonotopy"]
    assert {"value", "p_value", "null_low", "null_high"} <= set(tonotopy["morans_i"])
    assert 1 / 21 <= tonotopy["smoothness"]["p_value"] <= 1
    assert len(tonotopy["preferred"]) == layer["sheet_shape"][0]
    assert layer["maps"]["speech"]["group"] == ["EngSpeech", "ForSpeech"]
    assert layer["maps"]["speech"]["morans_i_labels"]["null"] == "labels"
    for family in FAMILIES:
        image = matplotlib.image.imread(out / f"{family}.png")
        assert image.shape[0] > 200 and image.std() > 0.05  # a drawn figure, not blank
    summary = (out / "maps.md").read_text()
    assert "## tonotopy" in summary and "![speech](speech.png)" in summary
    assert "wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_report_command_writes_one_page_with_embedded_figures_and_brain_scores(setup):
    brain = setup / "brain.json"
    brain.write_text(json.dumps({"model": str(setup / "topo"), "NH2015": {"median_r2": 0.42}}))
    out = setup / "report"
    assert main(["report", *_common(setup, out), "--brain", str(brain)]) == 0
    page = (out / "report.md").read_text()
    for heading in ("## Accuracy", "## Weight smoothness", "## Cortical maps", "### tonotopy"):
        assert heading in page
    assert "## Brain predictivity" in page and "NH2015.median_r2 | 0.42" in page
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(FAMILIES)
    assert "<table>" in html and "<h2>Accuracy</h2>" in html


@pytest.mark.slow
def test_report_without_brain_scores_leaves_the_section_out(setup, tmp_path):
    out = tmp_path / "report"
    args = _common(setup, out)
    args[args.index("--data-dir") : args.index("--data-dir") + 3] = []  # no NH2015: no categories
    assert main(["report", *args]) == 0
    page = (out / "report.md").read_text()
    assert "Brain predictivity" not in page and "## speech" not in page.replace("### ", "## ")
    assert re.search(r"### amplitude modulation", page)


@pytest.mark.slow
def test_maps_command_names_bad_input(setup, tmp_path, capsys):
    args = _common(setup, tmp_path / "out")
    with pytest.raises(SystemExit):
        main(["maps", *args, "--contrasts", "speach"])
    assert "unknown preset 'speach'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["maps", *args[:4], "final_word", *args[6:]])
    assert "'final_word' is not on a 2-D sheet" in capsys.readouterr().err


def test_brain_folder_summary_is_included_without_its_figures(tmp_path):
    from topoaudio_zoo.cli.report import _brain_section

    (tmp_path / "brain.md").write_text(
        "# Brain\n\n## Best layer\n\n| `m1` | 0.6 |\n\n![f](f.png)\n"
    )
    lines = _brain_section(tmp_path, ["m1"])
    assert lines[0] == "## Brain predictivity" and "### Best layer" in lines
    assert "| `m1` | 0.6 |" in lines and not any(line.startswith("![") for line in lines)
    assert _brain_section(tmp_path, ["other"]) == []


def test_markdown_to_html_renders_tables_headings_and_bold(tmp_path):
    page = markdown_to_html("# T\n\n| a | b |\n|---|---|\n| **1** | `x` |\n", tmp_path, "t")
    assert "<h1>T</h1>" in page and "<td><b>1</b></td><td><code>x</code></td>" in page


@pytest.mark.parametrize(
    "model",
    ["runs/long/topoaudio-cochresnet18w64-tau25-long/model", "topoaudio-cochresnet18w64-tau25"],
)
def test_a_long_model_name_is_its_rows_label_on_short_lines(model):
    """Map figures label each model's row; a folder path or long name is broken after ``/`` or
    ``-`` so that the label fits beside its row, and no character is lost."""
    label = _row_label(model)
    assert len(label.splitlines()) > 1 and label.replace("\n", "") == model
    assert max(len(line) for line in label.splitlines()) <= 24
