"""The ``topoaudio-zoo`` command line: the documented subcommands and their help, the
figures it draws (by content), clear errors."""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
import soundfile as sf

from topoaudio_zoo.cli import build_parser, main
from topoaudio_zoo.cochleagram import Cochleagram

README = Path(__file__).resolve().parents[1] / "README.md"
# The subcommands the README documents (as ``topoaudio-zoo NAME``), alphabetically.
DOCUMENTED_SUBCOMMANDS = [
    "brain",
    "cochleagram",
    "demo",
    "download",
    "evaluate",
    "export",
    "extract",
    "fit",
    "list",
    "make-corpus",
    "maps",
    "predict",
    "publish",
    "report",
    "test",
    "validate",
]


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_the_parser_offers_exactly_the_documented_subcommands():
    assert _subcommands() == DOCUMENTED_SUBCOMMANDS


def test_the_readme_documents_every_subcommand():
    readme = README.read_text(encoding="utf-8")
    undocumented = [n for n in DOCUMENTED_SUBCOMMANDS if f"topoaudio-zoo {n}" not in readme]
    assert not undocumented


@pytest.mark.slow
def test_console_script_help_lists_every_subcommand():
    result = subprocess.run(
        [sys.executable, "-m", "topoaudio_zoo.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = re.findall(r"^ {4}([a-z-]+)\b", result.stdout, flags=re.MULTILINE)
    assert sorted(listed) == DOCUMENTED_SUBCOMMANDS, result.stdout


@pytest.mark.parametrize("name", DOCUMENTED_SUBCOMMANDS)
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith("usage: topoaudio-zoo") and f" {name}" in usage


@pytest.mark.slow
def test_cochleagram_command_draws_the_tone_at_its_frequency(tmp_path, monkeypatch):
    t = np.arange(16000) / 16000
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 1000 * t), 16000)
    out = tmp_path / "figs" / "tone.png"
    drawn = record_panels(monkeypatch)
    assert main(["cochleagram", str(tmp_path / "tone.wav"), "--out", str(out)]) == 0
    assert_drawn(out)
    ((_, image),) = drawn["tone.png"]
    cf = Cochleagram().cf
    assert image.shape[0] == len(cf)
    loudest = cf[int(np.argmax(image.mean(axis=1)))]
    assert 900 < loudest < 1100, f"the 1 kHz tone is loudest at {loudest:.0f} Hz"


def test_cochleagram_command_reports_bad_audio_by_name(tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(SystemExit) as exit_info:
        main(["cochleagram", str(bad), "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
    assert "broken.wav: unreadable" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_demo_command_draws_the_sound_and_tonotopy_of_shipped_models(tmp_path, capsys, monkeypatch):
    drawn = record_panels(monkeypatch)
    assert main(["demo", "--out", str(tmp_path), "--tones", "12"]) == 0
    audio, sr = sf.read(tmp_path / "demo_sound.wav")
    assert sr == 20000 and audio.shape == (40000,)
    stages = [f"layer{n}" for n in range(1, 5)]
    figures = ["cochleagram.png", "tonotopy.png"] + [f"tonotopy_{stage}.png" for stage in stages]
    for name in figures:
        assert_drawn(tmp_path / name)
    ((_, cochleagram),) = drawn["cochleagram.png"]
    assert cochleagram.shape[0] == len(Cochleagram().cf) and cochleagram.std() > 0
    # ResNet18: two basic blocks per stage, a 1x1 shortcut conv in the first block of stages 2-4.
    convs = {
        stage: [f"{stage}.{b}.conv{c}" for b in (0, 1) for c in (1, 2)]
        + ([f"{stage}.0.downsample.0"] if stage != "layer1" else [])
        for stage in stages
    }
    expected = {"tonotopy.png": [f"{stage}.1.conv2" for stage in stages]}
    expected |= {f"tonotopy_{stage}.png": convs[stage] for stage in stages}
    for name, layers in expected.items():
        panels = drawn[name]
        assert sorted(_layer_of(title) for title, _ in panels) == sorted(2 * layers), name
        for title, _ in panels:
            assert re.search(r"I=-?[0-9.]+ \(p=[0-9.]+\)\nsmooth\. -?[0-9.]+ \(p=", title), title
        for title, best_frequency in panels:
            assert best_frequency.count() > 0, title
            assert 50 <= best_frequency.min() < best_frequency.max() <= 8000, title
    printed = capsys.readouterr().out
    assert "tonotopy skipped" not in printed
    assert "TopoAudio" in printed and "baseline" in printed
    cell = r"I +-?[0-9.]+ \(p=[0-9.]+\)  sm\. +-?[0-9.]+ \(p=[0-9.]+\)"
    for layer in (layer for stage in stages for layer in convs[stage]):
        assert re.search(rf"^  {re.escape(layer)} +{cell} +{cell}$", printed, re.M), layer


class Panels(dict):
    """``{PNG name: [(panel title, image data), ...]}``; looked up by the target's name, also
    when the figure was saved to a temporary name beside it (``.NAME.xxxx.partial``) and
    renamed, as the package's atomic writes do."""

    def __missing__(self, name: str) -> list[tuple[str, np.ma.MaskedArray]]:
        (found,) = [panels for saved, panels in self.items() if saved.startswith(f".{name}.")]
        return found


def record_panels(monkeypatch) -> Panels:
    """Spy on matplotlib: the panels of every figure saved that show an image (colour bars
    excluded), by file name."""
    drawn = Panels()
    save = matplotlib.figure.Figure.savefig

    def savefig(figure, fname, *args, **kwargs):
        drawn[Path(fname).name] = [
            (axes.get_title(), np.ma.masked_invalid(np.asarray(axes.images[0].get_array())))
            for axes in figure.axes
            if axes.images
        ]
        return save(figure, fname, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    return drawn


def assert_drawn(png: Path) -> None:
    """A PNG that is not blank: a fifth of its pixels or more are not white, and they vary."""
    pixels = matplotlib.image.imread(png)[..., :3]
    drawn = (pixels < 0.9).any(axis=-1).mean()
    assert drawn > 0.2 and pixels.std() > 0.1, f"{png.name}: only {drawn:.0%} of pixels drawn"


def _layer_of(title: str) -> str:
    """``"layer1.1.conv2\\nI=0.41 (p=0.001)\\nsmooth. 0.12 (p=0.02)"`` → ``"layer1.1.conv2"``."""
    return title.splitlines()[0]
