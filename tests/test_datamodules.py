"""DataModules on tiny corpora written here in the real Speech Commands, NSynth, ESC-50 layouts."""

from __future__ import annotations

import gc
import math
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as taf
from corpus_fixtures import (
    ESC_CATEGORIES,
    SC_SPEAKERS,
    SC_WORDS,
    write_esc50,
    write_tone,
)

from topoaudio_zoo.audio import AudioError
from topoaudio_zoo.data import (
    AudioFolderDataModule,
    BadAudioWarning,
    DatasetNotFoundError,
    ESC50DataModule,
    NSynthDataModule,
    SpeechCommandsDataModule,
    WSNDataModule,
    esc50_cross_validation,
    mix,
)

CLIP = 40000


def batches(loader) -> list[dict]:
    return list(loader)


def rms(x: torch.Tensor) -> torch.Tensor:
    return x.pow(2).mean(-1).sqrt()


# ----------------------------------------------------------------------------------------------
# Speech Commands


def test_speech_commands_v2_35_splits_and_batches(speech_root):
    dm = SpeechCommandsDataModule(str(speech_root), batch_size=8)
    dm.setup("fit")
    assert dm.tasks == {"word": SC_WORDS}
    assert dm.task_types == {"word": "multiclass"}
    sizes = {split: len(t) for split, t in dm.splits().items()}
    assert sizes == {"train": 40, "val": 10, "test": 10}
    speakers = {split: {c.speaker for c in clips} for split, clips in dm.clips.items()}
    assert speakers == {
        "train": set(SC_SPEAKERS[:4]),
        "val": {SC_SPEAKERS[4]},
        "test": {SC_SPEAKERS[5]},
    }
    counts = np.bincount(dm.splits()["train"].targets["word"], minlength=5)
    assert counts.tolist() == [8] * 5
    batch = next(iter(dm.train_dataloader()))
    assert batch["waveform"].shape == (8, CLIP) and batch["waveform"].dtype == torch.float32
    assert batch["targets"]["word"].dtype == torch.int64 and batch["targets"]["word"].shape == (8,)
    assert len(batch["key"]) == 8 and all("_nohash_" in k for k in batch["key"])
    torch.testing.assert_close(rms(batch["waveform"]), torch.full((8,), 0.1))
    torch.testing.assert_close(batch["waveform"].mean(-1), torch.zeros(8), atol=1e-6, rtol=0)
    for b in dm.val_dataloader():
        for key, word in zip(b["key"], b["targets"]["word"].tolist(), strict=True):
            assert key.split("/")[0] == SC_WORDS[word]


def test_stereo_and_wrong_rate_files_are_mono_at_20khz(speech_root):
    dm = SpeechCommandsDataModule(str(speech_root))
    dm.setup("fit")
    source = dm.dataset("train").source
    lengths = {}
    for i in range(len(source)):
        key = source.table.key(i)
        if key in (
            "dog/00c0ffee_nohash_1.wav",
            "cat/01c0ffee_nohash_0.wav",
            "yes/00c0ffee_nohash_0.wav",
        ):
            _, waveform = source.load(i)
            assert waveform.ndim == 1
            lengths[key] = waveform.shape[0]
    assert lengths == {  # 1 s at 16 kHz, 1 s stereo at 16 kHz, 1 s at 22.05 kHz → 20 000
        "yes/00c0ffee_nohash_0.wav": 20000,
        "dog/00c0ffee_nohash_1.wav": 20000,
        "cat/01c0ffee_nohash_0.wav": 20000,
    }
    stereo, sr = sf.read(speech_root / "dog/00c0ffee_nohash_1.wav", dtype="float32")
    expected = taf.resample(torch.from_numpy(stereo.mean(axis=1)), sr, 20000)
    index = [source.table.key(i) for i in range(len(source))].index("dog/00c0ffee_nohash_1.wav")
    torch.testing.assert_close(source.load(index)[1], expected, atol=1e-5, rtol=0)


def test_eval_clips_are_centred_and_deterministic(speech_root):
    a = SpeechCommandsDataModule(str(speech_root), batch_size=4, seed=3)
    b = SpeechCommandsDataModule(str(speech_root), batch_size=4, seed=3)
    a.setup("fit")
    b.setup("fit")
    first, second = batches(a.val_dataloader()), batches(b.val_dataloader())
    again = batches(a.val_dataloader())
    for x, y, z in zip(first, second, again, strict=True):
        assert x["key"] == y["key"] == z["key"]
        torch.testing.assert_close(x["waveform"], y["waveform"], rtol=0, atol=0)
        torch.testing.assert_close(x["waveform"], z["waveform"], rtol=0, atol=0)
    wave = first[0]["waveform"][0]  # a 1-s word (20 000 samples) centred: 10 000 pad each side
    assert wave[:9990].std() < 1e-6 and wave[30010:].std() < 1e-6
    assert wave[10000:30000].std() > 0.05


def test_training_crops_change_across_epochs_and_repeat_with_the_seed(speech_root):
    def epoch_waves(dm, loader) -> dict[str, torch.Tensor]:  # key → waveform of one epoch
        return {k: w for b in loader for k, w in zip(b["key"], b["waveform"], strict=True)}

    dm = SpeechCommandsDataModule(str(speech_root), batch_size=16, seed=1)
    dm.setup("fit")
    loader = dm.train_dataloader()
    epoch0, epoch1 = epoch_waves(dm, loader), epoch_waves(dm, loader)
    assert set(epoch0) == set(epoch1) and len(epoch0) == 40
    moved = sum(not torch.equal(epoch0[k], epoch1[k]) for k in epoch0)
    assert moved == 40
    twin = SpeechCommandsDataModule(str(speech_root), batch_size=16, seed=1)
    twin.setup("fit")
    twin_epoch0 = epoch_waves(twin, twin.train_dataloader())
    assert all(torch.equal(epoch0[k], twin_epoch0[k]) for k in epoch0)
    other = SpeechCommandsDataModule(str(speech_root), batch_size=16, seed=2)
    other.setup("fit")
    other_epoch0 = epoch_waves(other, other.train_dataloader())
    assert any(not torch.equal(epoch0[k], other_epoch0[k]) for k in epoch0)


def test_v2_12_unknown_and_silence(speech_root):
    dm = SpeechCommandsDataModule(str(speech_root), protocol="v2-12", batch_size=64)
    dm.setup("fit")
    classes = dm.tasks["word"]
    assert classes == ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
                       "_unknown_", "_silence_"]  # fmt: skip
    for split, words in (("train", 40), ("val", 10), ("test", 10)):
        counts = np.bincount(dm.splits()[split].targets["word"], minlength=12)
        n_silence = math.ceil(0.1 * words)
        per_word = words // 5
        assert counts[classes.index("_silence_")] == n_silence
        assert counts[classes.index("_unknown_")] == 2 * per_word  # cat, dog
        assert counts[[classes.index(w) for w in ("yes", "no", "up")]].tolist() == [per_word] * 3
        assert len(dm.splits()[split]) == words + n_silence
    val = [batches(dm.val_dataloader()) for _ in range(2)]
    silence = classes.index("_silence_")
    pick = val[0][0]["targets"]["word"] == silence
    assert pick.sum() == 1
    torch.testing.assert_close(val[0][0]["waveform"][pick], val[1][0]["waveform"][pick])
    loader = dm.train_dataloader()
    a, b = (
        {k: w for batch in loader for k, w in zip(batch["key"], batch["waveform"], strict=True)}
        for _ in range(2)
    )
    silent_keys = [k for k in a if k.startswith("_background_noise_/")]
    assert len(silent_keys) == 4
    assert all(not torch.equal(a[k], b[k]) for k in silent_keys)
    torch.testing.assert_close(rms(torch.stack([a[k] for k in silent_keys])), torch.full((4,), 0.1))


def test_missing_and_inconsistent_split_lists(speech_root, tmp_path):
    root = tmp_path / "sc"
    write_tone(root / "yes" / "abc_nohash_0.wav", 1.0, 16000, 1)
    (root / "validation_list.txt").write_text("")
    with pytest.raises(DatasetNotFoundError, match=r"testing_list\.txt"):
        SpeechCommandsDataModule(str(root)).setup("fit")
    (root / "testing_list.txt").write_text("yes/nobody_nohash_9.wav\n")
    with pytest.raises(ValueError, match=r"testing_list\.txt: 1 listed clips do not exist"):
        SpeechCommandsDataModule(str(root)).setup("fit")
    with pytest.raises(ValueError, match="protocol"):
        SpeechCommandsDataModule(str(root), protocol="v3")


# ----------------------------------------------------------------------------------------------
# Bad files


def test_corrupt_and_truncated_wavs_raise_or_are_skipped(speech_root, tmp_path):
    root = tmp_path / "sc_bad"
    for rel in ("no/aaa_nohash_0.wav", "no/bbb_nohash_0.wav", "up/aaa_nohash_0.wav",
                "up/ccc_nohash_0.wav", "yes/aaa_nohash_0.wav", "yes/bbb_nohash_0.wav"):  # fmt: skip
        write_tone(root / rel, 1.0, 16000, len(rel))
    (root / "up" / "aaa_nohash_0.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    whole = (root / "yes" / "bbb_nohash_0.wav").read_bytes()
    (root / "yes" / "bbb_nohash_0.wav").write_bytes(whole[: len(whole) // 2])
    (root / "validation_list.txt").write_text("")
    (root / "testing_list.txt").write_text("")
    strict = SpeechCommandsDataModule(str(root), batch_size=2)
    strict.setup("fit")
    with pytest.raises(AudioError, match=r"up/aaa_nohash_0\.wav: unreadable"):
        batches(_ordered(strict))
    source = strict.dataset("train").source
    truncated = [source.table.key(i) for i in range(len(source))].index("yes/bbb_nohash_0.wav")
    with pytest.raises(AudioError, match=r"yes/bbb_nohash_0\.wav: truncated"):
        source.load(truncated)

    lenient = SpeechCommandsDataModule(str(root), batch_size=2, skip_bad=True)
    lenient.setup("fit")
    with pytest.warns(BadAudioWarning) as record:
        out = batches(_ordered(lenient))
    messages = " ".join(str(w.message) for w in record)
    assert "up/aaa_nohash_0.wav" in messages and "yes/bbb_nohash_0.wav" in messages
    keys = [k for b in out for k in b["key"]]
    assert len(keys) == 6
    assert "up/aaa_nohash_0.wav" not in keys and "yes/bbb_nohash_0.wav" not in keys
    assert keys.count("up/ccc_nohash_0.wav") == 2  # the bad file's slot gets the next good one


def _ordered(dm):
    """The training examples in table order, with fixed crops (a plain loader over indices)."""
    return torch.utils.data.DataLoader(dm.dataset("train"), batch_size=2)


def test_cache_matches_files_and_records_bad_files(speech_root, tmp_path):
    plain = SpeechCommandsDataModule(str(speech_root), batch_size=10)
    cached = SpeechCommandsDataModule(str(speech_root), batch_size=10, cache_dir=str(tmp_path))
    cached.prepare_data()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 6 and {Path(f).suffix for f in files} == {".npz", ".f16"}
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    plain.setup("test")
    cached.setup("test")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == stamps
    for x, y in zip(
        batches(plain.test_dataloader()), batches(cached.test_dataloader()), strict=True
    ):
        assert x["key"] == y["key"]
        torch.testing.assert_close(x["waveform"], y["waveform"], atol=2e-4, rtol=1e-3)


def test_cache_build_reports_or_skips_a_corrupt_file(tmp_path):
    root = tmp_path / "folder"
    for label in ("a", "b"):
        for i in range(3):
            write_tone(root / label / f"{i}.wav", 0.5, 16000, i)
    (root / "a" / "1.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match=r"a/1\.wav"):
        AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c1")).prepare_data()
    dm = AudioFolderDataModule(str(root), cache_dir=str(tmp_path / "c2"), skip_bad=True)
    with pytest.warns(BadAudioWarning, match=r"a/1\.wav"):
        dm.prepare_data()
    dm.setup("fit")
    with pytest.warns(BadAudioWarning, match=r"a/1\.wav: marked unusable"):
        keys = [
            k for split in ("train", "val") for b in batches(dm._loader(split)) for k in b["key"]
        ]
    assert "a/1.wav" not in keys and len(keys) == 6


# ----------------------------------------------------------------------------------------------
# NSynth


def test_nsynth_families_splits_and_first_two_seconds(nsynth_root):
    dm = NSynthDataModule(str(nsynth_root), batch_size=6)
    dm.setup("fit")
    assert dm.tasks == {"instrument_family": ["bass", "guitar", "synth_lead"]}
    tables = dm.splits()
    assert {s: len(t) for s, t in tables.items()} == {"train": 9, "val": 6, "test": 6}
    instruments = {s: {k.decode().rsplit("-", 2)[0] for k in t.keys} for s, t in tables.items()}
    assert not instruments["train"] & (instruments["val"] | instruments["test"])
    assert np.bincount(tables["val"].targets["instrument_family"], minlength=3).tolist() == [
        3,
        3,
        0,
    ]
    batch = next(iter(dm.val_dataloader()))
    key = batch["key"][0]
    raw, sr = sf.read(nsynth_root / "nsynth-valid" / "audio" / f"{key}.wav", dtype="float32")
    expected = taf.resample(torch.from_numpy(raw), sr, 20000)[:CLIP]
    expected = (
        (expected - expected.mean()) / (expected - expected.mean()).pow(2).mean().sqrt() * 0.1
    )
    torch.testing.assert_close(batch["waveform"][0], expected, atol=1e-5, rtol=1e-4)
    train = next(iter(dm.train_dataloader()))
    assert train["waveform"].shape == (6, CLIP)


def test_nsynth_pitch_target(nsynth_root):
    dm = NSynthDataModule(str(nsynth_root), target="pitch")
    assert dm.tasks == {"pitch": ["60", "64", "67"]}
    table = dm.splits()["test"]
    pitches = [int(k.decode().split("-")[-2]) for k in table.keys]
    assert [dm.tasks["pitch"][t] for t in table.targets["pitch"]] == [str(p) for p in pitches]
    with pytest.raises(ValueError, match="target"):
        NSynthDataModule(str(nsynth_root), target="velocity")


def test_nsynth_missing_split(tmp_path):
    (tmp_path / "nsynth-train" / "audio").mkdir(parents=True)
    (tmp_path / "nsynth-train" / "examples.json").write_text("{}")
    with pytest.raises(DatasetNotFoundError) as info:
        NSynthDataModule(str(tmp_path)).prepare_data()
    message = str(info.value)
    assert "nsynth-valid/examples.json" in message and "nsynth-test/audio" in message
    assert "nsynth-train/examples.json" not in message
    assert "nsynth-valid.jsonwav.tar.gz" in message


# ----------------------------------------------------------------------------------------------
# ESC-50


def test_esc50_folds(esc50_root):
    dm = ESC50DataModule(str(esc50_root), test_fold=2)
    dm.setup("fit")
    assert dm.tasks == {"category": ESC_CATEGORIES}
    folds = {s: {int(k.decode()[0]) for k in t.keys} for s, t in dm.splits().items()}
    assert folds == {"train": {1, 3, 4, 5}, "val": {2}, "test": {2}}
    held = ESC50DataModule(str(esc50_root), test_fold=2, val_fraction=0.25, seed=0)
    tables = held.splits()
    sources = {s: {k.decode().split("-")[1] for k in t.keys} for s, t in tables.items()}
    assert not sources["train"] & sources["val"] and len(sources["val"]) == 2
    assert len(tables["train"]) + len(tables["val"]) == 16
    assert np.bincount(tables["val"].targets["category"]).tolist() == [2, 2]
    with pytest.raises(ValueError, match="test_fold"):
        ESC50DataModule(str(esc50_root), test_fold=6)


def test_esc50_eval_crop_is_the_loudest_window(tmp_path):
    root = write_esc50(tmp_path)
    path = root / "ESC-50-master" / "audio" / "1-1000-A-0.wav"
    quiet = 0.001 * np.random.default_rng(0).standard_normal(5 * 44100)
    quiet[3 * 44100 : int(4.5 * 44100)] += 0.5 * np.sin(np.arange(int(1.5 * 44100)) * 0.05)
    sf.write(path, quiet, 44100, subtype="PCM_16")
    dm = ESC50DataModule(str(root), test_fold=1, batch_size=1)
    dm.setup("test")
    first = next(iter(dm.test_dataloader()))
    assert first["key"] == ["1-1000-A-0.wav"]
    # the 1.5-s event (150 blocks of 10 ms at 20 kHz) lies wholly inside the 2-s window
    assert loud_blocks(first["waveform"][0]) in (150, 151)
    centre = ESC50DataModule(str(root), test_fold=1, batch_size=1, eval_crop="center")
    centre.setup("test")  # centre window 1.5–3.5 s: 0.5 s of the event
    assert loud_blocks(next(iter(centre.test_dataloader()))["waveform"][0]) in (50, 51)


def loud_blocks(wave: torch.Tensor) -> int:
    """Number of 10-ms blocks (200 samples) whose peak exceeds half the clip's peak."""
    peaks = wave.abs().unfold(0, 200, 200).amax(-1)
    return int((peaks > 0.5 * peaks.max()).sum())


def test_esc50_cross_validation_runs_every_fold(esc50_root):
    seen = []

    def run_fold(dm):
        dm.setup("fit")
        test_folds = {int(k.decode()[0]) for k in dm.splits()["test"].keys}
        seen.append(test_folds)
        return 0.5 + 0.1 * dm.test_fold

    result = esc50_cross_validation(
        lambda f: ESC50DataModule(str(esc50_root), test_fold=f), run_fold
    )
    assert seen == [{1}, {2}, {3}, {4}, {5}]
    assert result["folds"] == pytest.approx({1: 0.6, 2: 0.7, 3: 0.8, 4: 0.9, 5: 1.0})
    assert result["mean"] == pytest.approx(0.8)
    assert result["std"] == pytest.approx(np.std([0.6, 0.7, 0.8, 0.9, 1.0], ddof=1))


# ----------------------------------------------------------------------------------------------
# Audio folder


def test_audio_folder_classes_and_stratified_split(tmp_path):
    for label, n in (("b_rain", 5), ("a_dog", 10)):
        for i in range(n):
            write_tone(tmp_path / label / f"{i}{'.flac' if i % 2 else '.wav'}", 0.5, 16000, i)
    (tmp_path / "notes.txt").write_text("ignored")
    dm = AudioFolderDataModule(str(tmp_path), val_fraction=0.2, batch_size=4)
    dm.setup("fit")
    assert dm.tasks == {"label": ["a_dog", "b_rain"]}
    tables = dm.splits()
    assert np.bincount(tables["val"].targets["label"]).tolist() == [2, 1]
    assert np.bincount(tables["train"].targets["label"]).tolist() == [8, 4]
    assert not set(tables["train"].keys) & set(tables["val"].keys)
    assert tables["test"] is tables["val"]
    other = AudioFolderDataModule(str(tmp_path), val_fraction=0.2, seed=5).splits()["val"]
    same = AudioFolderDataModule(str(tmp_path), val_fraction=0.2, seed=0).splits()["val"]
    assert list(same.keys) == list(tables["val"].keys)
    assert list(other.keys) != list(tables["val"].keys)
    batch = next(iter(dm.val_dataloader()))
    assert batch["waveform"].shape == (3, CLIP)


def test_audio_folder_empty_class_and_csv(tmp_path):
    write_tone(tmp_path / "dog" / "1.wav", 0.5, 16000, 1)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("no audio")
    with pytest.raises(ValueError, match=r"cat: empty class folder"):
        AudioFolderDataModule(str(tmp_path)).setup("fit")
    write_tone(tmp_path / "sounds" / "x.wav", 0.5, 44100, 2, channels=2)
    write_tone(tmp_path / "sounds" / "y.wav", 0.5, 8000, 3)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "labels.csv").write_text(
        "path,label\n../sounds/x.wav,cat\n../sounds/y.wav,cat\n../dog/1.wav,dog\n"
    )
    dm = AudioFolderDataModule(str(tmp_path), csv="meta/labels.csv", val_fraction=0.5, batch_size=8)
    dm.setup("fit")
    assert dm.tasks == {"label": ["cat", "dog"]}
    assert len(dm.splits()["train"]) == 2 and len(dm.splits()["val"]) == 1
    waves = next(iter(dm.train_dataloader()))["waveform"]
    assert waves.shape == (2, CLIP)
    (tmp_path / "meta" / "bad.csv").write_text("path,label\n../sounds/missing.wav,cat\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 2: no such file"):
        AudioFolderDataModule(str(tmp_path), csv="meta/bad.csv").setup("fit")


# ----------------------------------------------------------------------------------------------
# Word-Speaker-Noise


def test_mix_sets_the_snr_and_the_mixture_rms():
    g = torch.Generator().manual_seed(0)
    speech = torch.zeros(3, CLIP)
    speech[:, 10000:30000] = torch.randn(3, 20000, generator=g) + 0.3
    background = torch.randn(3, CLIP, generator=g) * 5 - 1
    snr = torch.tensor([-10.0, 0.0, 7.5])
    mixture, s, b = mix(speech, background, snr, rms=0.1)
    measured = 20 * torch.log10(rms(s) / rms(b))
    torch.testing.assert_close(measured, snr, atol=1e-3, rtol=0)
    torch.testing.assert_close(rms(mixture), torch.full((3,), 0.1))
    torch.testing.assert_close(mixture, s + b)
    torch.testing.assert_close(mixture.mean(-1), torch.zeros(3), atol=1e-6, rtol=0)


def test_wsn_tasks_splits_and_speaker_holdout(speech_root, nsynth_root):
    dm = WSNDataModule(str(speech_root), str(nsynth_root), speaker_holdout=0.2, seed=0)
    dm.setup("fit")
    tasks = dm.tasks
    assert tasks["word"] == SC_WORDS
    assert tasks["speaker"] == sorted(SC_SPEAKERS[:4])
    assert tasks["background"] == ["bass", "guitar", "synth_lead"]
    assert dm.task_types == dict.fromkeys(("word", "speaker", "background"), "multiclass")
    tables = dm.splits()
    train_keys = set(tables["train"].keys)
    # each training speaker has 10 clips: round(0.2 × 10) = 2 held out, 1 to val and 1 to test
    assert len(tables["train"]) == 40 - 8
    for split, official in (("val", 4), ("test", 5)):
        speaker = tables[split].targets["speaker"]
        keys = tables[split].keys
        unseen = [k.decode() for k, s in zip(keys, speaker, strict=True) if s == -100]
        known = [k for k, s in zip(keys, speaker, strict=True) if s >= 0]
        assert len(unseen) == 10 and all(SC_SPEAKERS[official] in k for k in unseen)
        assert len(known) == 4 and not set(known) & train_keys
        assert sorted(np.unique(speaker[speaker >= 0]).tolist()) == [0, 1, 2, 3]
    assert len(tables["background-train"]) == 9 and len(tables["background-val"]) == 6


def test_wsn_mixture_snr_rms_and_determinism(speech_root, nsynth_root):
    kwargs = {"snr_db": (-5.0, 5.0), "return_parts": True, "batch_size": 8, "seed": 4}
    dm = WSNDataModule(str(speech_root), str(nsynth_root), **kwargs)
    dm.setup("fit")
    train = dm.train_dataloader()
    epochs = [batches(train) for _ in range(2)]
    snrs = {}
    for e, epoch in enumerate(epochs):
        for batch in epoch:
            s, b, m = batch["speech"], batch["background"], batch["waveform"]
            measured = 20 * torch.log10(rms(s) / rms(b))
            torch.testing.assert_close(measured, batch["snr_db"].float(), atol=1e-3, rtol=0)
            torch.testing.assert_close(rms(m), torch.full((len(m),), 0.1))
            torch.testing.assert_close(m, s + b)
            assert set(batch["targets"]) == {"word", "speaker", "background"}
            assert ((batch["snr_db"] >= -5) & (batch["snr_db"] <= 5)).all()
            for key, snr in zip(batch["key"], batch["snr_db"].tolist(), strict=True):
                snrs.setdefault(key, []).append((e, snr))
    assert all(len(v) == 2 and v[0][1] != v[1][1] for v in snrs.values())
    assert (
        torch.tensor([t for e in epochs for b in e for t in b["targets"]["speaker"]]) >= 0
    ).all()
    twin = WSNDataModule(str(speech_root), str(nsynth_root), **kwargs)
    twin.setup("fit")
    for x, y in zip(batches(dm.val_dataloader()), batches(twin.val_dataloader()), strict=True):
        assert x["background_key"] == y["background_key"]
        torch.testing.assert_close(x["waveform"], y["waveform"], rtol=0, atol=0)
        torch.testing.assert_close(x["snr_db"], y["snr_db"], rtol=0, atol=0)
    test_bg = {k for b in batches(dm.test_dataloader()) for k in b["background_key"]}
    assert all(k.startswith(("bass_acoustic_020", "guitar_synthetic_021")) for k in test_bg)


def test_wsn_with_esc50_backgrounds(speech_root, esc50_root):
    dm = WSNDataModule(str(speech_root), str(esc50_root), background_format="esc50", batch_size=5)
    dm.setup("fit")
    assert dm.tasks["background"] == ESC_CATEGORIES
    folds = {
        s: {int(k.decode()[0]) for k in dm.splits()[f"background-{s}"].keys}
        for s in ("train", "val", "test")
    }
    assert folds == {"train": {1, 2, 3}, "val": {4}, "test": {5}}
    batch = next(iter(dm.val_dataloader()))
    assert batch["waveform"].shape == (5, CLIP)
    with pytest.raises(ValueError, match="background_format"):
        WSNDataModule(str(speech_root), str(esc50_root), background_format="audioset")
    with pytest.raises(ValueError, match="snr_db"):
        WSNDataModule(str(speech_root), str(esc50_root), snr_db=(10, -10))


def test_wsn_with_an_audio_folder_and_a_cache(speech_root, tmp_path):
    folder = tmp_path / "backgrounds"
    for label in ("traffic", "birds"):
        for i in range(5):
            write_tone(folder / label / f"{i}.wav", 3.0, 44100, i + 10 * len(label))
    kwargs = {"background_format": "audio_folder", "batch_size": 7, "return_parts": True}
    plain = WSNDataModule(str(speech_root), str(folder), **kwargs)
    cached = WSNDataModule(str(speech_root), str(folder), cache_dir=str(tmp_path / "c"), **kwargs)
    cached.prepare_data()
    assert sorted(p.name.split("-")[1] for p in (tmp_path / "c").glob("*.npz")) == [
        "background",
        "speech",
    ]
    plain.setup("fit")
    cached.setup("fit")
    assert plain.tasks["background"] == ["birds", "traffic"]
    val, test = plain.splits()["background-val"], plain.splits()["background-test"]
    assert list(val.keys) == list(test.keys)
    assert len(plain.splits()["background-val"]) == 2
    for x, y in zip(batches(plain.val_dataloader()), batches(cached.val_dataloader()), strict=True):
        assert x["key"] == y["key"] and x["background_key"] == y["background_key"]
        torch.testing.assert_close(x["waveform"], y["waveform"], atol=2e-4, rtol=1e-3)


# ----------------------------------------------------------------------------------------------
# Workers and Lightning


@pytest.mark.slow
def test_two_workers_give_the_same_batches(speech_root):
    solo = SpeechCommandsDataModule(str(speech_root), batch_size=8, seed=7)
    duo = SpeechCommandsDataModule(str(speech_root), batch_size=8, seed=7, num_workers=2)
    solo.setup("fit")
    duo.setup("fit")
    loader = duo.train_dataloader()
    assert loader.persistent_workers
    for x, y in zip(batches(solo.train_dataloader()), batches(loader), strict=True):
        assert x["key"] == y["key"]  # workers resample with one thread: rounding differs
        torch.testing.assert_close(x["waveform"], y["waveform"], rtol=0, atol=1e-6)
    # shut the persistent workers down now, not in a garbage collection during a later test
    del loader
    gc.collect()


class _Probe(L.LightningModule):
    """Records the keys and waveform sums it is trained on."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(CLIP, 5)
        self.seen: list[tuple[int, str, float]] = []

    def training_step(self, batch, batch_idx):
        for key, wave in zip(batch["key"], batch["waveform"], strict=True):
            self.seen.append((self.current_epoch, key, float(wave.abs().sum())))
        return torch.nn.functional.cross_entropy(
            self.layer(batch["waveform"]), batch["targets"]["word"]
        )

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


@pytest.mark.filterwarnings("ignore:You passed in a `val_dataloader` but have no `validation_step`")
def test_lightning_trainer_epochs_are_reproducible(speech_root):
    def run() -> list:
        dm = SpeechCommandsDataModule(str(speech_root), batch_size=20, seed=11)
        probe = _Probe()
        trainer = L.Trainer(
            max_epochs=2,
            limit_val_batches=0,
            accelerator="cpu",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(probe, datamodule=dm)
        return probe.seen

    first, second = run(), run()
    assert first == second and len(first) == 80
    by_epoch = [{k: s for e, k, s in first if e == epoch} for epoch in (0, 1)]
    assert by_epoch[0].keys() == by_epoch[1].keys()
    assert by_epoch[0] != by_epoch[1]
