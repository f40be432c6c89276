"""Offline corpora: exact Speech Commands v0.02 and NSynth jsonwav layouts, formats, splits,
determinism and clear errors. Builds ``--small`` corpora once per session (seconds)."""

import csv
import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf
from corpus_fixtures import write_speech_commands

from topoaudio_zoo.cli import main
from topoaudio_zoo.data import DatasetNotFoundError, WSNDataModule
from topoaudio_zoo.data.corpora import (
    CATEGORIES,
    SPEECH_COMMANDS_WORDS,
    MissingBinaryError,
    engines,
    render_backgrounds,
    render_nsynth,
    render_speech_commands,
    which_set,
)
from topoaudio_zoo.data.corpora.categories import categorise, load_rules, mapping_text
from topoaudio_zoo.data.corpora.figure import plot_category_cochleagrams
from topoaudio_zoo.data.corpora.fluidsynth import NoteSpec, render_notes
from topoaudio_zoo.data.corpora.gm import EXCLUDED_PROGRAMS, GM_FAMILY_SOURCE, family_source
from topoaudio_zoo.data.corpora.midi import _varlen
from topoaudio_zoo.data.corpora.music import STYLES, compose
from topoaudio_zoo.data.corpora.sf2 import read_presets
from topoaudio_zoo.data.corpora.sources import SOURCES, SoundSource, file_licences, split_group
from topoaudio_zoo.data.corpora.speech_commands import choose_speakers, engine_speakers

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
ENGINES = ["espeak-ng", "flite", "festival"]
SC_CLIP = re.compile(r"^[0-9a-f]{8}_nohash_\d+\.wav$")
# NSynth's own numbering (from the dataset's documentation).
NSYNTH_FAMILIES = {
    "bass": 0,
    "brass": 1,
    "flute": 2,
    "guitar": 3,
    "keyboard": 4,
    "mallet": 5,
    "organ": 6,
    "reed": 7,
    "string": 8,
    "synth_lead": 9,
    "vocal": 10,
}
NSYNTH_SOURCES = {"acoustic": 0, "electronic": 1, "synthetic": 2}
NSYNTH_FIELDS = {
    "note": int,
    "note_str": str,
    "instrument": int,
    "instrument_str": str,
    "pitch": int,
    "velocity": int,
    "sample_rate": int,
    "qualities": list,
    "qualities_str": list,
    "instrument_family": int,
    "instrument_family_str": str,
    "instrument_source": int,
    "instrument_source_str": str,
}
NOTE_STR = re.compile(
    r"^(?P<family>[a-z_]+?)_(?P<source>acoustic|electronic|synthetic)_(?P<index>\d{3})"
    r"-(?P<pitch>\d{3})-(?P<velocity>\d{3})$"
)


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def speech(tmp_path_factory):
    out = tmp_path_factory.mktemp("sc") / "speech_commands"
    summary = render_speech_commands(out, small=True, seed=0, jobs=1, engines=ENGINES)
    return out, summary


@pytest.fixture(scope="session")
def nsynth(tmp_path_factory):
    out = tmp_path_factory.mktemp("ns") / "nsynth"
    summary = render_nsynth(out, small=True, seed=0, jobs=1)
    return out, summary


def _sc_clips(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.glob("*/*.wav")
        if p.parent.name != "_background_noise_"
    )


def _read_list(path: Path) -> list[str]:
    return path.read_text().splitlines()


# --- Speech Commands -------------------------------------------------------------------------


@pytest.mark.slow
def test_speech_commands_layout(speech):
    out, summary = speech
    words = SPEECH_COMMANDS_WORDS[:6]
    entries = {p.name for p in out.iterdir()}
    assert entries == {
        *words,
        "_background_noise_",
        "validation_list.txt",
        "testing_list.txt",
        "generalization_list.txt",
        "README.md",
        "LICENSE",
        "speakers.tsv",
    }
    speakers = set()
    for word in words:
        names = sorted(p.name for p in (out / word).iterdir())
        assert all(SC_CLIP.match(n) for n in names), names[:3]
        speakers |= {n.split("_nohash_")[0] for n in names}
        assert {n.split("_nohash_")[1] for n in names} == {"0.wav", "1.wav"}
    # 24 espeak-ng speakers, the 4 Flite and 3 Festival voices once each.
    assert len(speakers) == 24 + 4 + 3
    assert summary.details["speakers_per_engine"] == {"espeak-ng": 24, "flite": 4, "festival": 3}
    assert len(_sc_clips(out)) == 6 * 31 * 2 == summary.total


@pytest.mark.slow
def test_speech_commands_clips_are_16k_mono_pcm16_one_second_centred_words(speech):
    out, _ = speech
    for rel in _sc_clips(out):
        info = sf.info(out / rel)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (
            16000,
            1,
            "PCM_16",
            16000,
        ), rel
        x, _ = sf.read(out / rel)
        peak = np.abs(x).max()
        assert peak > 0.2, rel  # peaks are drawn in -12…-2 dBFS
        active = np.flatnonzero(np.abs(x) > 0.01 * peak)
        assert abs((active[0] + active[-1]) / 2 - 8000) < 800, rel
        assert x[0] == 0 and x[-1] == 0, rel  # padded, not cut


@pytest.mark.slow
def test_split_lists_follow_which_set_and_are_speaker_disjoint(speech):
    out, summary = speech
    clips = _sc_clips(out)
    validation = _read_list(out / "validation_list.txt")
    testing = _read_list(out / "testing_list.txt")
    assert validation and testing
    assert validation == sorted(validation) and testing == sorted(testing)
    assert set(validation) <= set(clips) and set(testing) <= set(clips)
    assert not set(validation) & set(testing)
    training = sorted(set(clips) - set(validation) - set(testing))
    held = set(_read_list(out / "generalization_list.txt"))
    assert held <= set(testing)
    for name, paths in (("validation", validation), ("testing", testing), ("training", training)):
        assert all(which_set(p) == name for p in paths if p not in held), name
    speaker = {
        name: {Path(p).name.split("_nohash_")[0] for p in paths}
        for name, paths in (("v", validation), ("t", testing), ("tr", training))
    }
    assert not speaker["v"] & speaker["t"]
    assert not speaker["v"] & speaker["tr"]
    assert not speaker["t"] & speaker["tr"]
    assert summary.split_counts == {
        "training": len(training),
        "validation": len(validation),
        "testing": len(testing),
    }


def _speakers_tsv(root: Path) -> list[dict]:
    with (root / "speakers.tsv").open() as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.mark.slow
def test_whole_voices_are_held_out_for_a_generalisation_test(speech):
    out, summary = speech
    rows = _speakers_tsv(out)
    held = {r["speaker"] for r in rows if (r["engine"], r["voice"]) in
            {("flite", "rms"), ("festival", "ked_diphone")}}  # fmt: skip
    listed = _read_list(out / "generalization_list.txt")
    assert {Path(p).name.split("_nohash_")[0] for p in listed} == held and len(held) == 2
    assert len(listed) == summary.details["generalization_clips"] == 2 * 6 * 2
    assert all(r["split"] == "testing" for r in rows if r["speaker"] in held)
    # The other Flite and Festival voices are spoken in training.
    trained = {(r["engine"], r["voice"]) for r in rows if r["split"] == "training"}
    assert {("flite", "awb"), ("flite", "slt"), ("festival", "kal_diphone")} <= trained


@pytest.mark.slow
def test_relist_holds_out_a_whole_engine_without_rendering(speech, tmp_path):
    original, _ = speech
    out = tmp_path / "relisted"
    shutil.copytree(original, out)
    clips_before = {k: v for k, v in _tree_hashes(out).items() if k.endswith(".wav")}
    summary = render_speech_commands(
        out, small=True, seed=0, engines=ENGINES, heldout_voices=["festival"], relist=True
    )
    rows = _speakers_tsv(out)
    festival = {r["speaker"] for r in rows if r["engine"] == "festival"}
    listed = {Path(p).name.split("_nohash_")[0] for p in _read_list(out / "testing_list.txt")}
    assert festival and festival <= listed
    assert {Path(p).name.split("_nohash_")[0] for p in
            _read_list(out / "generalization_list.txt")} == festival  # fmt: skip
    assert summary.details["heldout_voices"] == [
        "festival:kal_diphone", "festival:ked_diphone", "festival:cmu_us_slt_arctic_hts"
    ]  # fmt: skip
    clips_after = {k: v for k, v in _tree_hashes(out).items() if k.endswith(".wav")}
    assert summary.details["cropped"] is None and clips_after == clips_before
    render_speech_commands(out, small=True, seed=0, engines=ENGINES, relist=True)
    for name in ("testing_list.txt", "validation_list.txt", "speakers.tsv"):
        assert (out / name).read_bytes() == (original / name).read_bytes(), name
    gone = next(out.glob("yes/*.wav"))
    gone.unlink()
    with pytest.raises(ValueError, match=f"relist: .*{gone.name}"):
        render_speech_commands(out, small=True, seed=0, engines=ENGINES, relist=True)


@pytest.mark.slow
def test_flite_and_festival_clips_are_words_like_the_espeak_ones(speech):
    out, _ = speech
    rows = {r["speaker"]: r for r in _speakers_tsv(out)}
    for path in sorted(out.glob("yes/*_nohash_0.wav")):
        row = rows[path.name.split("_nohash_")[0]]
        x, sr = sf.read(path)
        assert sr == 16000 and x.shape == (16000,)
        active = np.flatnonzero(np.abs(x) > 0.05 * np.abs(x).max())
        duration = (active[-1] - active[0]) / sr
        assert 0.15 < duration < 0.95, (row["engine"], row["voice"], duration)


def test_engine_speakers_vary_stretch_and_speed():
    first = engine_speakers("flite", ("awb", "slt"), 5, seed=0)
    assert len(first) == 10 and len({s.speaker_id for s in first}) == 10
    assert engine_speakers("flite", ("awb", "slt"), 5, seed=0) == first
    assert len({(s.stretch, s.speed) for s in engine_speakers("festival", ("x",), None, 0)}) == 25
    assert engine_speakers("flite", ("awb",), 1, seed=3)[0].key == "flite:awb|d1|v1"


def test_missing_festival_voice_names_its_package(monkeypatch, tmp_path):
    monkeypatch.setattr(engines, "FESTIVAL_VOICE_ROOT", tmp_path)
    with pytest.raises(MissingBinaryError, match="apt-get install festvox-kdlpc16k"):
        engines.check_engine("festival", ["ked_diphone"])
    with pytest.raises(ValueError, match="engines"):
        render_speech_commands(tmp_path / "x", engines=["say"])
    with pytest.raises(ValueError, match="heldout_voices"):
        render_speech_commands(tmp_path / "x", engines=ENGINES, heldout_voices=["flite:x"])


def test_which_set_is_the_readme_rule():
    # The rule of the Speech Commands README, written out independently: SHA-1 of the part
    # before "_nohash_", modulo 2**27, scaled by 100 / (2**27 - 1); < 10 valid, < 20 test.
    def percentage(speaker):
        value = int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % 2**27
        return value * 100.0 / (2**27 - 1)

    speakers = [f"{k:08x}" for k in range(0, 2**32, 2**32 // 400)]
    expected = {
        s: "validation" if percentage(s) < 10 else "testing" if percentage(s) < 20 else "training"
        for s in speakers
    }
    got = {s: which_set(f"right/{s}_nohash_3.wav") for s in speakers}
    assert got == expected
    assert {"validation", "testing", "training"} == set(got.values())
    assert all(which_set(f"{s}_nohash_0.wav") == got[s] for s in speakers)


@pytest.mark.slow
def test_background_noises_are_long_16k_and_differently_coloured(speech):
    out, _ = speech
    folder = out / "_background_noise_"
    assert "synthetic" in (folder / "README.md").read_text()
    wavs = sorted(folder.glob("*.wav"))
    assert {p.stem for p in wavs} >= {"white_noise", "pink_noise", "brown_noise", "running_tap"}
    low_to_high = {}
    for path in wavs:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.duration >= 30
        x, _ = sf.read(path)
        assert x.std() > 0.05
        power = np.abs(np.fft.rfft(x[:160000])) ** 2
        freqs = np.fft.rfftfreq(160000, 1 / 16000)
        low = power[(freqs > 50) & (freqs < 200)].mean()
        high = power[(freqs > 2000) & (freqs < 4000)].mean()
        low_to_high[path.stem] = low / high
    assert 0.5 < low_to_high["white_noise"] < 2
    assert low_to_high["pink_noise"] > 5 * low_to_high["white_noise"]
    assert low_to_high["brown_noise"] > 5 * low_to_high["pink_noise"]
    assert low_to_high["running_tap"] < 0.5


@pytest.mark.slow
def test_speech_commands_is_deterministic_for_a_seed_whatever_the_jobs(speech, tmp_path):
    out, _ = speech
    again = render_speech_commands(tmp_path / "again", small=True, seed=0, jobs=2, engines=ENGINES)
    assert _tree_hashes(again.out) == _tree_hashes(out)


def test_seed_changes_the_speakers():
    accents, variants = ["gmw/en", "gmw/en-US"], ["m1", "f2", "klatt"]
    first = choose_speakers(accents, variants, 10, seed=0)
    assert choose_speakers(accents, variants, 10, seed=0) == first
    assert choose_speakers(accents, variants, 10, seed=1) != first
    assert len({s.speaker_id for s in first}) == 10
    assert all(re.fullmatch(r"[0-9a-f]{8}", s.speaker_id) for s in first)


def test_speech_commands_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="voices"):
        render_speech_commands(tmp_path / "a", voices=0)
    with pytest.raises(ValueError, match="words"):
        render_speech_commands(tmp_path / "b", words=["Yes!"])
    with pytest.raises(ValueError, match="voices"):
        render_speech_commands(tmp_path / "c", voices=10**7, words=["yes"])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="out"):
        render_speech_commands(tmp_path / "full", small=True)


# --- NSynth ----------------------------------------------------------------------------------


def _examples(root: Path) -> dict[str, dict]:
    return {
        split: json.loads((root / f"nsynth-{split}" / "examples.json").read_text())
        for split in ("train", "valid", "test")
    }


@pytest.mark.slow
def test_nsynth_layout_and_every_field(nsynth):
    out, summary = nsynth
    assert {p.name for p in out.iterdir()} == {
        "nsynth-train",
        "nsynth-valid",
        "nsynth-test",
        "README.md",
    }
    note_ids = []
    instrument_ids: dict[int, str] = {}
    for split, examples in _examples(out).items():
        folder = out / f"nsynth-{split}"
        assert {p.name for p in folder.iterdir()} == {"examples.json", "audio"}
        assert {p.stem for p in (folder / "audio").iterdir()} == set(examples)
        assert all(p.suffix == ".wav" for p in (folder / "audio").iterdir())
        assert len(examples) == summary.split_counts[split] > 0
        for key, ex in examples.items():
            assert set(ex) == set(NSYNTH_FIELDS), key
            for field, kind in NSYNTH_FIELDS.items():
                assert type(ex[field]) is kind, (key, field)
            match = NOTE_STR.match(key)
            assert match, key
            assert ex["note_str"] == key
            assert ex["instrument_str"] == key.split("-")[0]
            assert ex["pitch"] == int(match["pitch"]) and 21 <= ex["pitch"] <= 108
            assert ex["velocity"] == int(match["velocity"]) in (25, 50, 75, 100, 127)
            assert ex["sample_rate"] == 16000
            assert len(ex["qualities"]) == 10 and set(ex["qualities"]) <= {0, 1}
            assert len(ex["qualities_str"]) == sum(ex["qualities"])
            assert ex["instrument_family_str"] == match["family"]
            assert ex["instrument_family"] == NSYNTH_FAMILIES[match["family"]]
            assert ex["instrument_source_str"] == match["source"]
            assert ex["instrument_source"] == NSYNTH_SOURCES[match["source"]]
            assert (
                instrument_ids.setdefault(ex["instrument"], ex["instrument_str"])
                == (ex["instrument_str"])
            )
            note_ids.append(ex["note"])
    assert len(note_ids) == len(set(note_ids))
    assert len(set(instrument_ids.values())) == len(instrument_ids)


@pytest.mark.slow
def test_nsynth_instruments_are_disjoint_and_every_family_is_present(nsynth):
    out, summary = nsynth
    instruments = {
        split: {ex["instrument_str"] for ex in examples.values()}
        for split, examples in _examples(out).items()
    }
    assert not instruments["train"] & instruments["valid"]
    assert not instruments["train"] & instruments["test"]
    assert not instruments["valid"] & instruments["test"]
    for split, names in instruments.items():
        families = {name.rsplit("_", 2)[0] for name in names}
        assert families == set(NSYNTH_FAMILIES), split
    assert summary.details["families_without_instruments"] == []


@pytest.mark.slow
def test_nsynth_notes_are_4s_16k_pcm16_not_silent_and_start_at_once(nsynth):
    out, _ = nsynth
    for path in sorted(out.glob("nsynth-*/audio/*.wav")):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (
            16000,
            1,
            "PCM_16",
            64000,
        ), path.name
        x, _ = sf.read(path)
        peak = np.abs(x).max()
        assert peak > 1e-3, path.name
        onset = np.flatnonzero(np.abs(x) > 0.01 * peak)[0]
        assert onset < 0.05 * 16000, path.name


def test_a_note_is_held_3s_then_released():
    organ, trumpet = NoteSpec(0, 19, 60, 100), NoteSpec(0, 56, 67, 127)
    waves = render_notes([organ, trumpet, organ], SOUNDFONT)
    assert [w.shape for w in waves] == [(64000,)] * 3

    def rms(w, a, b):
        return np.sqrt(np.mean(w[int(a * 16000) : int(b * 16000)] ** 2))

    for w in waves:
        assert rms(w, 0.5, 2.9) > 0.01
        assert rms(w, 3.7, 4.0) < 0.1 * rms(w, 0.5, 2.9)
    # A different note in between leaves nothing behind; only the note's first 64-sample block
    # of FluidSynth processing (samples 64-127) depends on the voices used before.
    assert np.array_equal(waves[0][128:], waves[2][128:])


@pytest.mark.slow
def test_nsynth_is_deterministic_for_a_seed_whatever_the_jobs(nsynth, tmp_path):
    out, _ = nsynth
    again = render_nsynth(tmp_path / "again", small=True, seed=0, jobs=2)
    assert _tree_hashes(again.out) == _tree_hashes(out)


def test_nsynth_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="per_family"):
        render_nsynth(tmp_path / "a", per_family=0)
    with pytest.raises(FileNotFoundError, match="soundfont"):
        render_nsynth(tmp_path / "b", soundfont=tmp_path / "missing.sf2")


def test_general_midi_mapping_covers_every_program_once():
    assert set(GM_FAMILY_SOURCE) | set(EXCLUDED_PROGRAMS) == set(range(128))
    assert not set(GM_FAMILY_SOURCE) & set(EXCLUDED_PROGRAMS)
    assert {family for family, _ in GM_FAMILY_SOURCE.values()} == set(NSYNTH_FAMILIES)
    # General MIDI program numbers (from 0): 0 acoustic grand piano, 33 electric bass
    # (finger), 40 violin, 56 trumpet, 73 flute, 81 sawtooth lead, 52 choir aahs.
    assert family_source(0) == ("keyboard", "acoustic")
    assert family_source(33) == ("bass", "electronic")
    assert family_source(40) == ("string", "acoustic")
    assert family_source(56) == ("brass", "acoustic")
    assert family_source(73) == ("flute", "acoustic")
    assert family_source(81) == ("synth_lead", "synthetic")
    assert family_source(52) == ("vocal", "acoustic")
    assert family_source(122) is None  # seashore
    with pytest.raises(ValueError, match="program"):
        family_source(128)


def test_soundfont_presets_are_read_from_phdr(tmp_path):
    presets = read_presets(SOUNDFONT)
    found = {(p.bank, p.program): p.name for p in presets}
    # Presets of FluidR3_GM (as fluidsynth's `inst` command lists them).
    assert found[(0, 0)] == "Yamaha Grand Piano"
    assert found[(0, 40)] == "Violin"
    assert found[(8, 4)] == "Detuned EP 1"
    assert found[(128, 0)] == "Standard"
    assert len(found) == len(presets)
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(ValueError, match="not a SoundFont"):
        read_presets(bad)


def test_midi_variable_length_quantities():
    # Examples of the Standard MIDI File specification.
    assert _varlen(0) == b"\x00"
    assert _varlen(0x40) == b"\x40"
    assert _varlen(0x80) == b"\x81\x00"
    assert _varlen(0x2000) == b"\xc0\x00"
    assert _varlen(0x3FFF) == b"\xff\x7f"
    assert _varlen(0x100000) == b"\xc0\x80\x00"
    assert _varlen(0x0FFFFFFF) == b"\xff\xff\xff\x7f"


# --- Missing programs and the command line ---------------------------------------------------


def test_missing_programs_name_their_debian_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MissingBinaryError, match="apt-get install espeak-ng"):
        render_speech_commands(tmp_path / "sc", small=True)
    with pytest.raises(MissingBinaryError, match="apt-get install fluidsynth"):
        render_nsynth(tmp_path / "ns", small=True)
    assert not (tmp_path / "sc").exists() and not (tmp_path / "ns").exists()


def test_cli_missing_program_exits_2_with_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SystemExit) as exit_info:
        main(["make-corpus", "nsynth", str(tmp_path / "ns"), "--small"])
    assert exit_info.value.code == 2
    assert "apt-get install fluidsynth" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_renders_both_corpora(tmp_path, capsys):
    sc = tmp_path / "sc"
    argv = ["make-corpus", "speech-commands", str(sc), "--words", "yes", "no"]
    assert main([*argv, "--voices", "3", "--jobs", "1"]) == 0
    assert "wrote 6 clips" in capsys.readouterr().out
    assert len(_sc_clips(sc)) == 6
    ns = tmp_path / "ns"
    assert main(["make-corpus", "nsynth", str(ns), "--small", "--per-family", "1"]) == 0
    printed = capsys.readouterr().out
    assert "wrote 33 notes" in printed and "vocal       1/1/1" in printed
    assert sum(len(e) for e in _examples(ns).values()) == 33


# --- Background corpus -----------------------------------------------------------------------

WESNOTH_SFX = Path("/usr/share/games/wesnoth/1.16/data/core/sounds")


@pytest.fixture(scope="session")
def backgrounds(tmp_path_factory):
    out = tmp_path_factory.mktemp("bg") / "backgrounds"
    summary = render_backgrounds(out, small=True, seed=0, jobs=1)
    return out, summary


def _manifest(root: Path) -> list[dict]:
    with (root / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_background_clips_match_the_manifest_and_are_20k_mono_at_most_4s(backgrounds):
    out, summary = backgrounds
    rows = _manifest(out)
    wavs = sorted(str(p.relative_to(out)) for p in out.glob("*/*/*.wav"))
    assert sorted(r["clip"] for r in rows) == wavs and len(wavs) == summary.total
    for row in rows:
        split, category, _ = row["clip"].split("/")
        assert (split, category) == (row["split"], row["category"])
        assert category in CATEGORIES and split in ("train", "val", "test")
        assert row["licence"] and row["package"] and row["version"]
        assert row["source"] == "midi" or Path(row["source_file"]).is_file()
        info = sf.info(out / row["clip"])
        assert (info.samplerate, info.channels, info.subtype) == (20000, 1, "PCM_16")
        assert 0.25 <= info.duration <= 4.0
        assert abs(info.duration - float(row["duration_s"])) < 1e-3
        x, _ = sf.read(out / row["clip"])
        assert np.abs(x).max() > 1e-3, row["clip"]
    assert (out / "COMPLETE").is_file() and (
        out / "licenses" / "wesnoth-1.16-data.copyright"
    ).is_file()
    assert (out / "categories.csv").read_text() == mapping_text()
    # The small corpus: only wesnoth-1.16-data and rendered music, every category but engines.
    assert {r["package"] for r in rows} == {"wesnoth-1.16-data", "fluid-soundfont-gm"}
    present = {c for c, per in summary.details["clips_per_category"].items() if per["train"]}
    assert present == set(CATEGORIES) - {"engine_machine"}


@pytest.mark.slow
def test_background_splits_never_share_a_recording(backgrounds):
    out, _ = backgrounds
    rows = _manifest(out)
    for key in ("source_file", "group"):
        split_of: dict[str, set] = {}
        for row in rows:
            split_of.setdefault(f"{row['source']}|{row[key]}", set()).add(row["split"])
        assert all(len(s) == 1 for s in split_of.values()), key
    assert {r["split"] for r in rows if r["source"] == "midi"} == {"train", "val", "test"}


@pytest.mark.slow
def test_every_wesnoth_data_file_is_labelled_or_excluded_on_purpose(backgrounds):
    _, summary = backgrounds
    assert summary.details["left_out"]["unlabelled"] == []
    assert summary.details["left_out"]["undecodable"] == []
    excluded = {Path(p).name for p in summary.details["left_out"]["excluded"]}
    assert {"magic-holy-1.ogg", "button.wav"} <= excluded


def test_the_category_mapping_is_data_read_in_order():
    rules = load_rules()
    assert {r.category for r in rules} <= {*CATEGORIES, "exclude"}

    def category(source, rel):
        rule = categorise(rules, source, rel)
        return None if rule is None else rule.category

    assert category("wesnoth-sfx", "wolf-growl-2.ogg") == "animal"
    assert category("wesnoth-sfx", "human-female-die-1.ogg") == "human_vocal"
    assert category("wesnoth-sfx", "ambient/campfire.ogg") == "water_weather_fire"
    assert category("wesnoth-sfx", "Magic-Holy-1.ogg") == "exclude"  # case-insensitive
    assert category("wesnoth-sfx", "axe.ogg") == "impact_tool"  # the catch-all comes last
    assert category("stk-sfx", "car_revup.ogg") == "engine_machine"
    assert category("wesnoth-music", "notes.txt") is None
    assert category("nowhere", "axe.ogg") is None


def test_bad_category_mappings_are_named(tmp_path):
    bad = tmp_path / "map.csv"
    bad.write_text("source,pattern,category,note\nwesnoth-sfx,*.ogg,noise,oops\n")
    with pytest.raises(ValueError, match=r"map.csv:2: unknown category 'noise'"):
        load_rules(bad)
    bad.write_text("src,pattern\n")
    with pytest.raises(ValueError, match="header"):
        load_rules(bad)


def test_versions_of_one_recording_share_a_split_group():
    assert split_group("wolf-hit-3.ogg") == split_group("wolf-hit-1.ogg") == "wolf-hit"
    assert split_group("celtic_fast.ogg") == split_group("celtic.ogg") == "celtic"
    assert split_group("ambient/birds2.ogg") == "ambient/birds"
    assert split_group("frantic-old.ogg") == "frantic"
    assert split_group("magic-holy-miss-1.ogg") != split_group("magic-holy-1.ogg")


def test_per_file_licences_come_from_a_machine_readable_copyright_file(tmp_path):
    copyright_text = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nLicense: GPL-3+\n\n"
        "Files: data/sfx/rain.ogg\n data/sfx/b*.ogg\nCopyright: someone\nLicense: CC0\n"
    )
    (tmp_path / "copyright").write_text(copyright_text)
    source = SoundSource("stk-sfx", "pkg", tmp_path, "data/sfx", "GPL-3+", 1)
    files = [tmp_path / "rain.ogg", tmp_path / "boing.ogg", tmp_path / "horn.ogg"]
    licences = file_licences(source, files, tmp_path / "copyright")
    assert [licences[f] for f in files] == ["CC0", "CC0", "GPL-3+"]
    (tmp_path / "copyright").write_text("Not machine-readable\n")
    assert set(file_licences(source, files, tmp_path / "copyright").values()) == {"GPL-3+"}


def _fake_music_source(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "music"
    root.mkdir()
    t = np.arange(3 * 44100) / 44100
    sf.write(root / "good.ogg", 0.3 * np.sin(2 * np.pi * 440 * t), 44100, format="OGG")
    (root / "broken.ogg").write_bytes(b"OggS not really")
    sf.write(root / "stray.wav", 0.3 * np.sin(2 * np.pi * 440 * t), 44100)
    sf.write(root / "quiet.ogg", np.zeros(44100), 44100, format="OGG")
    source = SOURCES["wesnoth-music"]
    monkeypatch.setitem(SOURCES, "wesnoth-music", dataclasses.replace(source, root=root))
    return root


def test_undecodable_unlabelled_and_silent_files_are_named_with_counts(tmp_path, monkeypatch):
    root = _fake_music_source(tmp_path, monkeypatch)
    out = tmp_path / "bg"
    summary = render_backgrounds(out, sources=["wesnoth-music"], music=False, jobs=1)
    left = summary.details["left_out"]
    assert left["undecodable"] == [str(root / "broken.ogg")]
    assert left["unlabelled"] == [str(root / "stray.wav")]
    assert left["too_short"] == [str(root / "quiet.ogg")]
    assert summary.total == 1
    with (out / "sources.csv").open() as f:
        status = {Path(r["source_file"]).name: r["status"] for r in csv.DictReader(f)}
    assert status == {
        "good.ogg": "ok",
        "broken.ogg": "undecodable",
        "stray.wav": "unlabelled",
        "quiet.ogg": "too_short",
    }


@pytest.mark.slow
def test_background_rendering_resumes_and_an_unfinished_corpus_is_not_complete(
    tmp_path, monkeypatch
):
    from topoaudio_zoo.data.corpora import backgrounds as module

    args = {"small": True, "sources": ["wesnoth-ui"], "music": True, "jobs": 1, "seed": 3}
    fresh = render_backgrounds(tmp_path / "fresh", **args)
    real_run, calls = module._run_job, []

    def dying(job):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(job)
        return real_run(job)

    monkeypatch.setattr(module, "_run_job", dying)
    with pytest.raises(KeyboardInterrupt):
        render_backgrounds(tmp_path / "resumed", **args)
    assert not (tmp_path / "resumed" / "COMPLETE").exists()
    assert not list((tmp_path / "resumed").rglob("*.partial"))
    with pytest.raises(ValueError, match="other arguments"):
        render_backgrounds(tmp_path / "resumed", **(args | {"seed": 4}))
    monkeypatch.setattr(module, "_run_job", real_run)
    resumed = render_backgrounds(tmp_path / "resumed", **args)
    assert resumed.details["jobs_resumed"] == 3
    hashes = {k: v for k, v in _tree_hashes(resumed.out).items() if not k.startswith(".render")}
    assert hashes == {
        k: v for k, v in _tree_hashes(fresh.out).items() if not k.startswith(".render")
    }
    with pytest.raises(ValueError, match="already holds a complete corpus"):
        render_backgrounds(tmp_path / "resumed", **args)


def test_missing_sound_package_is_named_with_its_install_command(tmp_path, monkeypatch):
    source = SOURCES["wesnoth-music"]
    monkeypatch.setitem(
        SOURCES, "wesnoth-music", dataclasses.replace(source, root=tmp_path / "absent")
    )
    with pytest.raises(MissingBinaryError, match=r"apt-get install wesnoth-1\.16-music"):
        render_backgrounds(tmp_path / "bg", sources=["wesnoth-music"], music=False)
    with pytest.raises(ValueError, match="sources"):
        render_backgrounds(tmp_path / "bg", sources=["no-such-folder"])


def test_composed_music_has_drums_bass_chords_and_melody_in_every_style():
    for style in STYLES:
        track = compose(style, seed=1, seconds=4.0)
        assert compose(style, seed=1, seconds=4.0) == track
        channels = {e.data[0] & 0x0F for e in track.events if e.data[0] & 0xF0 == 0x90}
        assert channels == {0, 1, 2, 9}, style
        assert track.end_ms >= 4000
    assert compose("rock", 1, 4.0) != compose("rock", 2, 4.0)
    with pytest.raises(ValueError, match="style"):
        compose("polka", 0, 4.0)


def test_cli_renders_backgrounds_and_names_what_was_left_out(tmp_path, capsys):
    out = tmp_path / "bg"
    argv = ["make-corpus", "backgrounds", str(out), "--small", "--sources", "wesnoth-ui"]
    assert main([*argv, "--no-music", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "signal_alarm" in printed and "excluded" in printed and "button.wav" in printed
    assert (out / "COMPLETE").is_file()


@pytest.mark.slow
def test_wsn_mixes_speech_over_the_background_categories(backgrounds, tmp_path):
    out, summary = backgrounds
    speech = write_speech_commands(tmp_path / "sc")
    dm = WSNDataModule(str(speech), str(out), background_format="backgrounds", batch_size=4, seed=0)
    dm.setup("fit")
    present = [c for c, per in summary.details["clips_per_category"].items() if per["train"]]
    assert dm.tasks["background"] == present
    batch = next(iter(dm.train_dataloader()))
    assert batch["waveform"].shape == (4, 40000)
    assert ((batch["targets"]["background"] >= 0) & (batch["targets"]["background"] < 7)).all()
    val = dm.dataset("val")
    labels = {val[i]["targets"]["background"] for i in range(len(val))}
    assert labels <= set(range(len(present)))


def test_wsn_refuses_an_unfinished_background_corpus(tmp_path):
    speech = write_speech_commands(tmp_path / "sc")
    unfinished = tmp_path / "bg"
    unfinished.mkdir()
    (unfinished / "manifest.csv").write_text("clip,split,category\n")
    dm = WSNDataModule(str(speech), str(unfinished), background_format="backgrounds")
    with pytest.raises(DatasetNotFoundError, match="make-corpus backgrounds"):
        dm.setup("fit")


@pytest.mark.slow
def test_the_category_figure_shows_every_category_of_a_corpus(backgrounds, tmp_path):
    out, summary = backgrounds
    png = plot_category_cochleagrams(out, tmp_path / "fig.png", per_category=1)
    image = plt.imread(png)
    present = sum(1 for per in summary.details["clips_per_category"].values() if per["train"])
    assert image.shape[0] > 100 * present  # one row per category with training clips
    with pytest.raises(FileNotFoundError, match="manifest"):
        plot_category_cochleagrams(tmp_path, tmp_path / "none.png")
