"""The ``topoaudio-zoo`` command line: help on every subcommand, rendering, clear errors."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from topoaudio_zoo.cli import SUBCOMMAND_MODULES, build_parser, main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _subcommands():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_console_script_help_lists_every_subcommand():
    result = subprocess.run(
        [sys.executable, "-m", "topoaudio_zoo.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for name in _subcommands():
        assert name in result.stdout
    assert len(_subcommands()) >= len(SUBCOMMAND_MODULES)


@pytest.mark.parametrize("name", _subcommands())
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.startswith("usage: topoaudio-zoo") and f" {name}" in usage


def test_cochleagram_command_writes_a_png(tmp_path):
    t = np.arange(16000) / 16000
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 1000 * t), 16000)
    out = tmp_path / "figs" / "tone.png"
    assert main(["cochleagram", str(tmp_path / "tone.wav"), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE


def test_cochleagram_command_reports_bad_audio_by_name(tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"not a wav")
    with pytest.raises(SystemExit) as exit_info:
        main(["cochleagram", str(bad), "--out", str(tmp_path / "x.png")])
    assert exit_info.value.code == 2
    assert "broken.wav: unreadable" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_demo_command_writes_sound_cochleagram_and_tonotopy_of_shipped_models(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--tones", "12"]) == 0
    audio, sr = sf.read(tmp_path / "demo_sound.wav")
    assert sr == 20000 and audio.shape == (40000,)
    figures = ["cochleagram.png", "tonotopy.png"] + [f"tonotopy_layer{i}.png" for i in range(1, 5)]
    for name in figures:
        assert (tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE, name
    printed = capsys.readouterr().out
    assert "tonotopy skipped" not in printed
    assert "layer1.0.conv1" in printed and "layer4.1.conv2" in printed
