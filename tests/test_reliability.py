"""Every bad input gets a clear answer, and no interrupted or concurrent write mixes data.

One test (or more) per row of the table in docs/reliability.md. The concurrent-extraction and
registry-shadowing rows are tested in tests/test_activations.py and tests/test_from_pretrained.py.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from zoo_helpers import saved_model, tiny_model, write_tone

import topoaudio_zoo.atomic as atomic
from topoaudio_zoo import audio as audio_module
from topoaudio_zoo.analysis.sound_sources import AudioFiles, audio_files, sound_batches
from topoaudio_zoo.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from topoaudio_zoo.audio import (
    AUDIO_EXTENSIONS,
    AudioError,
    AudioFileNotFoundError,
    AudioPermissionError,
    AudioWarning,
    NotAudioError,
    load_audio,
    prepare_waveform,
)
from topoaudio_zoo.cli import main
from topoaudio_zoo.cochleagram import Cochleagram
from topoaudio_zoo.cochleagram.stream import cochleagram_chunks, read_span
from topoaudio_zoo.data.audio_folder import read_audio_folder
from topoaudio_zoo.data.download import DatasetNotFoundError
from topoaudio_zoo.data.nsynth import check_nsynth
from topoaudio_zoo.data.speech_commands import check_speech_commands
from topoaudio_zoo.devices import resolve_device
from topoaudio_zoo.zoo import from_pretrained
from topoaudio_zoo.zoo.config import normalize_config
from topoaudio_zoo.zoo.weights import WeightsError

SR = 20000


def _noise(seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(0, 0.1, round(seconds * sr))).astype(np.float32)


def _audio_warnings(record: list) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, AudioWarning)]


# ------------------------------------------------------------------ atomic, exclusive writes
def test_atomic_write_replaces_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_concurrent_writers_each_write_their_own_copy_and_one_wins_whole(tmp_path):
    target = tmp_path / "shared.bin"
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    start = threading.Barrier(len(payloads))

    def write(data: bytes) -> None:
        start.wait()
        with atomic_path(target) as tmp, open(tmp, "wb") as handle:
            for offset in range(0, len(data), 1000):
                handle.write(data[offset : offset + 1000])

    threads = [threading.Thread(target=write, args=(data,)) for data in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert target.read_bytes() in payloads
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bin"]


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only"), (errno.EACCES, "permission")],
)
def test_full_disk_and_read_only_errors_name_the_path(tmp_path, monkeypatch, code, reason):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(atomic.os, "fsync", fail)
    target = tmp_path / "model" / "config.json"
    target.parent.mkdir()
    with pytest.raises(OSError, match=f"cannot write {target}: .*{reason}"):
        atomic_write_bytes(target, b"{}")
    assert list(target.parent.iterdir()) == []


def test_cli_full_disk_prints_one_line_naming_the_path(tmp_path, monkeypatch, capsys):
    write_tone(tmp_path / "tone.wav", 440, SR, seconds=1.0)
    monkeypatch.setattr(
        atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full"))
    )
    out = tmp_path / "figure.png"
    with pytest.raises(SystemExit) as exit_info:
        main(["cochleagram", str(tmp_path / "tone.wav"), "--out", str(out)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"topoaudio-zoo cochleagram: error: [Errno {errno.ENOSPC}] cannot write {out}: no space "
        "left on the device"
    ]
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(AudioFileNotFoundError):
        main(
            ["cochleagram", str(tmp_path / "nope.wav"), "--out", str(tmp_path / "x.png"), "--debug"]
        )


# ---------------------------------------------------------------------- long inputs bounded
@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory) -> Path:
    """A 10-minute 16-bit WAV at 8 kHz: a tone whose frequency changes every minute."""
    sr, path = 8000, tmp_path_factory.mktemp("long") / "ten_minutes.wav"
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as handle:
        for minute in range(10):
            t = np.arange(60 * sr) / sr
            handle.write(0.3 * np.sin(2 * np.pi * (200 + 100 * minute) * t))
    return path


def test_cochleagram_command_renders_the_clip_length_of_a_long_file(ten_minutes, tmp_path, capsys):
    out = tmp_path / "c.png"
    assert main(["cochleagram", str(ten_minutes), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "390 frames; 0–2 s" in captured.out  # the preset's 2-s clip, not 10 minutes
    assert "rendered 0–2 s of the 600-s file" in captured.err
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_a_span_is_read_without_decoding_the_rest(ten_minutes):
    waveform, seconds = read_span(ten_minutes, SR, start=125.0, duration=2.0)
    assert seconds == 600.0 and waveform.shape == (40000,)
    spectrum = np.abs(np.fft.rfft(waveform.numpy()))
    assert np.argmax(spectrum) * SR / len(waveform) == pytest.approx(400.0, abs=1)  # minute 2
    with pytest.raises(AudioError, match="start 700 s is outside the file"):
        read_span(ten_minutes, SR, start=700.0)


@pytest.mark.slow
def test_chunked_cochleagram_matches_one_pass():
    torch.manual_seed(0)
    waveform = torch.randn(160000) * 0.1
    whole = Cochleagram(signal_size=160000)(waveform)[0].numpy()
    chunked = np.concatenate(
        list(cochleagram_chunks(waveform, Cochleagram(signal_size=80000))), axis=1
    )
    assert chunked.shape == whole.shape
    difference = np.abs(chunked - whole)
    assert difference.mean() < 1e-3 * np.abs(whole).mean()
    assert np.percentile(difference, 99) < 0.01 * np.abs(whole).max()


@pytest.mark.slow
def test_ten_minutes_of_cochleagram_stay_under_one_gigabyte(ten_minutes, tmp_path):
    out = tmp_path / "all.png"
    command = [sys.executable, "-m", "topoaudio_zoo.cli", "cochleagram", str(ten_minutes)]
    command += ["--out", str(out), "--duration", "all"]
    # A fresh parent process whose only child is the command: its RUSAGE_CHILDREN peak is the
    # command's own (this test process's children include every earlier test's subprocesses).
    measure = (
        "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(done.returncode)"
    )
    done = subprocess.run([sys.executable, "-c", measure, *command], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "119990 frames" in done.stdout
    peak_kib = int(done.stdout.strip().splitlines()[-1])
    assert peak_kib < 1024**2, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_cropping_warns_once_naming_the_file_and_the_kept_span(tmp_path):
    model = tiny_model()  # 0.2-s input
    path = tmp_path / "long.wav"
    sf.write(path, _noise(1.0), SR)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.predict(path)
    assert _audio_warnings(record) == [
        f"{path}: cropped to 0.400–0.600 s of 1.000 s (the model takes 0.2 s)"
    ]


# -------------------------------------------------------------------- every soundfile format
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("a.oga", {"format": "OGG", "subtype": "VORBIS"}),
        ("a.opus", {"format": "OGG", "subtype": "OPUS"}),
        ("a.aiff", {}),
        ("a.au", {}),
    ],
)
def test_folders_take_every_format_soundfile_reads(tmp_path, name, kwargs):
    assert {".oga", ".opus", ".aiff", ".au", ".wav", ".flac", ".mp3"} <= set(AUDIO_EXTENSIONS)
    (tmp_path / "cls").mkdir()
    sf.write(tmp_path / "cls" / name, _noise(0.5, 48000), 48000, **kwargs)
    assert audio_files(tmp_path) == [tmp_path / "cls" / name]
    entries, classes = read_audio_folder(tmp_path)
    assert [key for _, key, _ in entries] == [f"cls/{name}"] and classes == ["cls"]
    waveform, rate = load_audio(tmp_path / "cls" / name, sr=SR)
    assert rate == SR and abs(waveform.numel() - SR // 2) < 0.05 * SR


# ------------------------------------------------------------------ errors say what happened
def test_not_audio_missing_and_permission_denied_are_told_apart(tmp_path, monkeypatch):
    noise = tmp_path / "noise.wav"
    noise.write_bytes(np.random.default_rng(0).bytes(4000))
    text = tmp_path / "notes.mp3"
    text.write_text("not a song\n" * 100)
    for path in (noise, text):
        with pytest.raises(NotAudioError, match=f"{path.name}: unreadable: not an audio file"):
            load_audio(path)
    with pytest.raises(AudioFileNotFoundError, match=r"gone\.wav: no such audio file"):
        load_audio(tmp_path / "gone.wav")
    os.mkfifo(tmp_path / "pipe.wav")  # opening it to read would block
    with pytest.raises(AudioError, match=r"pipe\.wav: not a regular file"):
        load_audio(tmp_path / "pipe.wav")

    locked = tmp_path / "locked.wav"
    sf.write(locked, _noise(0.1), SR)

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(audio_module, "_read_header", denied)  # root reads every file
    with pytest.raises(AudioPermissionError, match=r"locked\.wav: permission denied"):
        load_audio(locked)


def test_unknown_devices_list_the_available_ones(monkeypatch):
    with pytest.raises(ValueError, match="'banana': not a device name; available devices: cpu"):
        resolve_device("banana")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda:0': no CUDA GPU is available on this machine"):
        resolve_device("cuda:0")
    assert resolve_device("cpu") == torch.device("cpu")


def test_from_pretrained_checks_the_device_before_loading(monkeypatch):
    from topoaudio_zoo import from_pretrained
    from topoaudio_zoo.zoo import registry

    def never(*args, **kwargs):
        raise AssertionError("files were looked for before the device was checked")

    monkeypatch.setattr(registry, "locate_model_files", never)
    with pytest.raises(ValueError, match="'banana': not a device name; available devices: cpu"):
        from_pretrained("topoaudio-cochresnet18w32-tau25", map_location="banana")


def test_cli_bad_device_is_one_line_without_traceback(tmp_path, capsys):
    saved_model(tmp_path / "model")
    write_tone(tmp_path / "tone.wav", 440, SR)
    argv = ["extract", str(tmp_path / "model"), str(tmp_path / "tone.wav")]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path / "a.h5"), "--device", "banana"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("topoaudio-zoo extract: error: device 'banana'")


def test_missing_corpora_name_the_folder_and_the_command_that_makes_them(tmp_path):
    for check, command in (
        (check_speech_commands, "make-corpus speech-commands"),
        (check_nsynth, "make-corpus nsynth"),
    ):
        with pytest.raises(DatasetNotFoundError) as info:
            check(tmp_path / "corpus")
        assert f"under {tmp_path / 'corpus'}" in str(info.value)
        assert f"topoaudio-zoo {command} {tmp_path / 'corpus'}" in str(info.value)


def test_fit_on_missing_data_is_a_short_error(tmp_path, capsys, monkeypatch):
    def missing(argv):
        check_nsynth(tmp_path / "nsynth")

    monkeypatch.setattr("topoaudio_zoo.training.cli.run_lightning_cli", missing)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "recipe.yaml"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"topoaudio-zoo fit: error: NSynth (jsonwav) not found under {tmp_path}")
    assert "make-corpus nsynth" in err and "Traceback" not in err


def test_cochleagram_on_empty_input_says_to_pad():
    with pytest.raises(ValueError, match="0 samples, fewer than the 1001-sample decimation window"):
        Cochleagram()(torch.zeros(0))


# ------------------------------------------------------------------------- one bad file
@pytest.fixture
def folder_with_a_bad_file(tmp_path) -> Path:
    folder = tmp_path / "sounds"
    for name in ("a.wav", "c.wav"):
        write_tone(folder / name, 440, SR)
    (folder / "b.wav").write_bytes(b"RIFF but not really" * 20)
    return folder


def test_one_bad_file_fails_before_the_first_batch_naming_it(folder_with_a_bad_file):
    with pytest.raises(NotAudioError, match=r"b\.wav: unreadable: not an audio file"):
        sound_batches(tiny_model(), folder_with_a_bad_file, batch_size=1)


def test_skip_leaves_bad_files_out_and_reports_each_with_its_reason(folder_with_a_bad_file):
    source = AudioFiles(folder_with_a_bad_file, on_error="skip")
    batches = sound_batches(tiny_model(), source, batch_size=1)
    assert batches.n_sounds == 2
    assert [key for _, keys in batches.batches for key in keys] == ["a.wav", "c.wav"]
    assert source.skipped == [
        (
            str(folder_with_a_bad_file / "b.wav"),
            "unreadable: not an audio file (libsndfile "
            "recognises none of the formats it reads in it)",
        )
    ]
    with pytest.raises(ValueError, match="on_error"):
        sound_batches(tiny_model(), folder_with_a_bad_file, 1, on_error="ignore")


def test_extract_skip_bad_reports_skipped_files_at_the_end(
    folder_with_a_bad_file, tmp_path, capsys
):
    saved_model(tmp_path / "model")
    argv = ["extract", str(tmp_path / "model"), str(folder_with_a_bad_file), "--no-progress"]
    assert main([*argv, "--layers", "layer1", "--out", str(tmp_path / "a.h5"), "--skip-bad"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "2 sounds" in out[0]
    assert out[1:] == [
        "skipped 1 unusable file(s):",
        f"  {folder_with_a_bad_file / 'b.wav'}: unreadable: not an audio file (libsndfile "
        "recognises none of the formats it reads in it)",
    ]


# ----------------------------------------------------------------------- suspicious audio
def test_silent_and_one_sample_clips_warn_and_stay_silent():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        one = prepare_waveform(torch.tensor([0.7]), SR, SR, 40000, name="click.wav")
        silent = prepare_waveform(torch.zeros(40000), SR, SR, 40000, name="quiet.wav")
    assert float(one.abs().max()) == 0.0  # not a spike of 19.5 after RMS normalisation
    assert float(silent.abs().max()) == 0.0
    messages = _audio_warnings(record)
    assert messages[0].startswith("click.wav: only 1 samples (0.000 s) long, much shorter")
    assert messages[0].endswith("silent (RMS below -80 dBFS after demeaning): not scaled up")
    assert messages[1] == "quiet.wav: silent (RMS below -80 dBFS after demeaning): not scaled up"


def test_short_clip_warns_and_keeps_its_rms():
    with pytest.warns(AudioWarning, match=r"short.wav: only 4000 samples \(0.200 s\) long"):
        clip = prepare_waveform(torch.from_numpy(_noise(0.2)), SR, SR, 40000, name="short.wav")
    assert float(clip.pow(2).mean().sqrt()) == pytest.approx(0.1, rel=1e-4)
    assert float(clip[4000:].abs().max()) < 1e-6  # the padding stays silent after demeaning


def test_clipped_file_warns_naming_it_and_non_finite_stays_an_error(tmp_path):
    clipped = tmp_path / "loud.wav"
    t = np.arange(SR) / SR
    sf.write(clipped, np.clip(3 * np.sin(2 * np.pi * 100 * t), -1, 1), SR, subtype="PCM_16")
    with pytest.warns(AudioWarning, match="loud.wav: clipped audio"):
        load_audio(clipped)
    clean = tmp_path / "clean.wav"
    sf.write(clean, 0.5 * np.sin(2 * np.pi * 100 * t), SR, subtype="PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AudioWarning)
        load_audio(clean)
    broken = tmp_path / "nan.wav"
    sf.write(broken, np.full(100, np.nan, dtype=np.float32), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: the file holds NaN"):
        load_audio(broken)


# ---------------------------------------------------------- configs and saved weights
def test_sizes_beyond_sane_bounds_fail_before_anything_is_built(tmp_path):
    saved_model(tmp_path / "model")
    config_file = tmp_path / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["architecture_kwargs"]["width"] = 100_000
    config_file.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"architecture_kwargs.width: expected a number in \[1"):
        from_pretrained(tmp_path / "model")
    for key, value, message in (
        ("heads", {"word": 10**7}, "heads.word.num_classes"),
        ("topography", {"factor": 1000}, "topography.factor"),
        ("architecture_kwargs", {"width": 1000}, "would hold 2,7"),
    ):
        with pytest.raises(ValueError, match=message):
            tiny_model(**{key: value})


def test_config_and_weight_shapes_are_compared_before_allocation(tmp_path, monkeypatch):
    saved_model(tmp_path / "model")
    config_file = tmp_path / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["architecture_kwargs"]["width"] = 8
    config["weights_sha256"] = None
    config_file.write_text(json.dumps(config))
    with pytest.raises(
        WeightsError, match=r"conv1.weight \(4, 1, 7, 7\) vs \(8, 1, 7, 7\)"
    ) as info:
        from_pretrained(tmp_path / "model")
    assert "checked before allocating the model" in str(info.value)
    assert normalize_config(config)["architecture_kwargs"] == {"width": 8}


def test_saved_weights_carry_a_checksum_verified_on_load(tmp_path):
    model = saved_model(tmp_path / "model")
    weights = tmp_path / "model" / "model.safetensors"
    recorded = json.loads((tmp_path / "model" / "config.json").read_text())["weights_sha256"]
    assert len(recorded) == 64
    torch.testing.assert_close(from_pretrained(tmp_path / "model").state_dict(), model.state_dict())
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x40  # one bit of one tensor's bytes
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"checksum mismatch .*save the model again"):
        from_pretrained(tmp_path / "model")
