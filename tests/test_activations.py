"""Activations on cortical sheets: layout, inputs, resampling, streaming to disk, CLI, errors."""

from __future__ import annotations

import json
import struct
import threading
import tracemalloc
from collections.abc import Mapping
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from topoloss.cortical_sheet.output import get_cortical_sheet_conv
from torch.utils.data import Dataset

from topoaudio_zoo import create_model
from topoaudio_zoo.analysis import audio_files, extract_activations, load_activations
from topoaudio_zoo.audio import AudioError
from topoaudio_zoo.cli import main
from topoaudio_zoo.data import AudioFolderDataModule
from topoaudio_zoo.topography import sheet_shape, to_sheet, unit_positions

SR = 20000
CLIP = 4000  # 0.2 s: a 211 × 30 cochleagram
FRONT_END = {"overrides": {"signal_size": CLIP}}
N_SOUNDS = 5


@pytest.fixture(scope="module")
def resnet():
    """cochresnet18, width 6: sheets 2×3 (conv1, layer1), 3×4 (layer2), 6×8 (avgpool)."""
    torch.manual_seed(0)
    model = create_model("cochresnet18", width=6, heads={"word": 5}, cochleagram=FRONT_END)
    # Non-trivial batch-norm statistics, so that eval and train mode differ.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.fixture(scope="module")
def ast():
    """A two-block AST: 13 patches + CLS = 14 tokens of 12 features (sheet 3×4)."""
    torch.manual_seed(0)
    return create_model(
        "ast_coch",
        heads={"word": 6},
        cochleagram=FRONT_END,
        input_size=[211, 30],
        depth=2,
        embed_dim=12,
        num_heads=2,
    ).eval()


def _sound(index: int, sr: int = SR, seconds: float = CLIP / SR) -> np.ndarray:
    """A band-limited (< 6 kHz) amplitude-modulated harmonic complex, float32."""
    t = np.arange(round(sr * seconds)) / sr
    f0 = 150.0 + 40.0 * index
    harmonics = range(1, int(6000 // f0) + 1)
    x = sum(np.sin(2 * np.pi * f0 * k * t + k * (index + 1)) / k for k in harmonics)
    ramp = np.clip(np.minimum(t, t[-1] - t) / 0.01, 0, 1)  # 10-ms fades at both ends
    return (x * ramp * (1 + 0.5 * np.sin(2 * np.pi * (5 + index) * t))).astype(np.float32)


@pytest.fixture(scope="module")
def sounds() -> torch.Tensor:
    return torch.from_numpy(np.stack([_sound(i) for i in range(N_SOUNDS)]))


def _cochleagrams(model, waveforms: torch.Tensor) -> torch.Tensor:
    """``(n, 1, freq, time)`` model inputs of raw waveforms, prepared sound by sound."""
    with torch.no_grad():
        clips = torch.cat([model.preprocess(w, SR) for w in waveforms])
        return model.cochleagram(clips).unsqueeze(1)


def _resnet_plain_forward(model, waveforms: torch.Tensor) -> dict[str, torch.Tensor]:
    """The read-outs computed by calling the ResNet's modules by hand (no hooks), eval mode."""
    b = model.backbone
    with torch.no_grad():
        stem = b.relu(b.bn1(b.conv1(_cochleagrams(model, waveforms))))
        layer1 = b.layer1(b.maxpool(stem))
        layer2_0 = b.layer2[0](layer1)
        layer2 = b.layer2[1](layer2_0)
        avgpool = b.avgpool(b.layer4(b.layer3(layer2)))
    return {
        "conv1_relu1": stem,
        "layer1": layer1,
        "layer2.0": layer2_0,
        "layer2": layer2,
        "avgpool": avgpool,
    }


# ------------------------------------------------------------------------------------ layout


def test_units_sit_where_the_topographic_loss_puts_their_weights(resnet, sounds):
    """Unit (r, c) of conv1's activation sheet is the response of the kernel that the
    reference ``topoloss`` package places at (r, c) of conv1's weight sheet."""
    acts = extract_activations(resnet, sounds, ["conv1"], pool="none", raw=True, progress=False)
    assert acts.modules == {"conv1": "conv1"}
    weight_sheet = get_cortical_sheet_conv(resnet.backbone.conv1, strict_layer_type=True)
    assert acts.sheet_shapes["conv1"] == tuple(weight_sheet.shape[:2]) == (2, 3)
    coch = _cochleagrams(resnet, sounds)
    for row in range(2):
        for col in range(3):
            kernel = weight_sheet[row, col].reshape(1, 1, 7, 7)
            expected = F.conv2d(coch, kernel.detach(), stride=2, padding=3)[:, 0]
            np.testing.assert_allclose(acts["conv1"][:, row, col], expected, atol=1e-5)


def test_unit_i_is_channel_i_of_a_plain_forward_at_row_i_div_w_col_i_mod_w(resnet, sounds):
    layers = ["conv1_relu1", "layer1", "layer2.0", "layer2", "avgpool"]
    plain = _resnet_plain_forward(resnet, sounds)
    resnet.train()
    try:
        pooled = extract_activations(resnet, sounds, layers, batch_size=2, progress=False)
        by_freq = extract_activations(resnet, sounds, layers, pool="time", progress=False)
        full = extract_activations(resnet, sounds, layers, pool="none", progress=False)
        assert all(module.training for module in resnet.modules())
    finally:
        resnet.eval()
    expected_sheets = {
        "conv1_relu1": (2, 3),
        "layer1": (2, 3),
        "layer2.0": (3, 4),
        "layer2": (3, 4),
        "avgpool": (6, 8),
    }
    assert pooled.sheet_shapes == by_freq.sheet_shapes == full.sheet_shapes == expected_sheets
    for layer, maps in plain.items():
        for unit, (row, col) in enumerate(unit_positions(maps.shape[1])):
            channel = maps[:, unit]
            np.testing.assert_allclose(full[layer][:, row, col], channel, atol=1e-5)
            np.testing.assert_allclose(pooled[layer][:, row, col], channel.mean((1, 2)), atol=1e-5)
            np.testing.assert_allclose(by_freq[layer][:, row, col], channel.mean(2), atol=1e-5)


def test_resnet_pooled_and_unpooled_shapes_and_axis_names(resnet, sounds):
    layers = ["conv1_relu1", "layer2", "avgpool", "final"]
    pooled = extract_activations(resnet, sounds, layers, progress=False)
    by_freq = extract_activations(resnet, sounds, layers, pool="time", progress=False)
    full = extract_activations(resnet, sounds, layers, pool="none", progress=False)
    n = N_SOUNDS
    # 211 × 30 cochleagram → conv1 (stride 2) 106 × 15 → max-pool 53 × 8 → layer2 27 × 4.
    assert {layer: pooled[layer].shape for layer in layers} == {
        "conv1_relu1": (n, 2, 3),
        "layer2": (n, 3, 4),
        "avgpool": (n, 6, 8),
        "final": (n, 1, 5),
    }
    assert {layer: by_freq[layer].shape for layer in layers} == {
        "conv1_relu1": (n, 2, 3, 106),
        "layer2": (n, 3, 4, 27),
        "avgpool": (n, 6, 8, 1),
        "final": (n, 1, 5),
    }
    assert {layer: full[layer].shape for layer in layers} == {
        "conv1_relu1": (n, 2, 3, 106, 15),
        "layer2": (n, 3, 4, 27, 4),
        "avgpool": (n, 6, 8, 1, 1),
        "final": (n, 1, 5),
    }
    assert full.dims["layer2"] == ("sound", "row", "col", "freq", "time")
    assert by_freq.dims["layer2"] == ("sound", "row", "col", "freq")
    assert pooled.dims["layer2"] == full.dims["final"] == ("sound", "row", "col")
    assert pooled.sound_ids == [f"sound{i}" for i in range(n)]
    assert pooled.config == resnet.config and pooled.pool == "unit" and not pooled.raw
    assert full.pool == "none" and full.path is None


def test_ast_tokens_on_sheets(ast, sounds):
    b = ast.backbone
    with torch.no_grad():
        tokens = b.patch_embed(_cochleagrams(ast, sounds)).flatten(2).transpose(1, 2)
        tokens = torch.cat([b.cls_token.expand(len(sounds), -1, -1), tokens], 1) + b.pos_embed
        block0 = b.blocks[0](tokens)
        second = b.blocks[1]
        fc1 = second.mlp.fc1(second.norm2(block0 + second.attn(second.norm1(block0))))
    layers = ["block0", "blocks.1.mlp.fc1", "final"]
    pooled = extract_activations(ast, sounds, layers, raw=True, progress=False)
    by_time = extract_activations(ast, sounds, layers, pool="time", raw=True, progress=False)
    full = extract_activations(ast, sounds, layers, pool="none", raw=True, progress=False)
    n = N_SOUNDS
    assert {layer: full[layer].shape for layer in layers} == {
        "block0": (n, 3, 4, 14),
        "blocks.1.mlp.fc1": (n, 6, 8, 14),
        "final": (n, 2, 3),
    }
    assert {layer: pooled[layer].shape for layer in layers} == {
        "block0": (n, 3, 4),
        "blocks.1.mlp.fc1": (n, 6, 8),
        "final": (n, 2, 3),
    }
    assert full.dims["block0"] == ("sound", "row", "col", "token")
    assert {layer: by_time[layer].shape for layer in layers} == {
        layer: pooled[layer].shape for layer in layers
    }
    for layer, values in (("block0", block0), ("blocks.1.mlp.fc1", fc1)):
        for unit, (row, col) in enumerate(unit_positions(values.shape[-1])):
            feature = values[:, :, unit]
            np.testing.assert_allclose(full[layer][:, row, col], feature, atol=1e-5)
            np.testing.assert_allclose(pooled[layer][:, row, col], feature.mean(1), atol=1e-5)
            np.testing.assert_allclose(by_time[layer][:, row, col], feature.mean(1), atol=1e-5)


# ------------------------------------------------------------------------------------ inputs


class _PreparedSounds(Dataset):
    """Items ``{"waveform": model input, "key", "targets"}`` like the package's datasets."""

    def __init__(self, model, waveforms: torch.Tensor, keys: list[str], clip: int = CLIP):
        self.clips = [model.preprocess(w, SR)[0, :clip] for w in waveforms]
        self.keys = keys

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> dict:
        return {"waveform": self.clips[i], "key": self.keys[i], "targets": {"word": 0}}


def _write_folder(root: Path, waveforms: torch.Tensor) -> list[str]:
    """Class folders a/, b/ of float WAVs at 20 kHz; returns keys (paths relative to root)."""
    keys = []
    for i, waveform in enumerate(waveforms):
        key = f"{'ab'[i % 2]}/sound{i}.wav"
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / key, waveform.numpy(), SR, subtype="FLOAT")
        keys.append(key)
    return keys


def test_tensor_files_folder_dataset_and_datamodule_agree(resnet, sounds, tmp_path):
    layers = ["layer1", "avgpool"]
    keys = _write_folder(tmp_path, sounds)
    from_tensor = extract_activations(resnet, sounds, layers, progress=False)

    files = [tmp_path / key for key in keys]
    from_files = extract_activations(resnet, files, layers, batch_size=2, progress=False)
    assert from_files.sound_ids == [str(path) for path in files]

    from_folder = extract_activations(resnet, tmp_path, layers, batch_size=3, progress=False)
    assert from_folder.sound_ids == sorted(keys)
    from_folder.sound_ids = [str(tmp_path / key) for key in from_folder.sound_ids]

    dataset = _PreparedSounds(resnet, sounds, [str(tmp_path / key) for key in keys])
    from_dataset = extract_activations(resnet, dataset, layers, batch_size=4, progress=False)
    assert from_dataset.sound_ids == [str(tmp_path / key) for key in keys]

    datamodule = AudioFolderDataModule(
        str(tmp_path), val_fraction=0.5, clip_samples=CLIP, batch_size=2
    )
    from_datamodule = extract_activations(resnet, datamodule, layers, progress=False)
    assert 0 < from_datamodule.n_sounds < N_SOUNDS
    from_datamodule.sound_ids = [str(tmp_path / key) for key in from_datamodule.sound_ids]

    for result in (from_files, from_folder, from_dataset, from_datamodule):
        relative = [Path(key).relative_to(tmp_path).as_posix() for key in result.sound_ids]
        rows = [keys.index(key) for key in relative]
        for layer in layers:
            np.testing.assert_allclose(result[layer], from_tensor[layer][rows], atol=1e-5)


def test_folders_are_searched_recursively_skipping_hidden_and_other_files(tmp_path):
    for name in ("b/2.flac", "a/deep/1.WAV", "0.ogg", ".git/x.wav", "a/.hidden.wav", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [path.relative_to(tmp_path).as_posix() for path in audio_files(tmp_path)]
    assert found == ["0.ogg", "a/deep/1.WAV", "b/2.flac"]


def test_a_16khz_file_is_resampled_to_the_model_rate(resnet, tmp_path):
    layers = ["conv1_relu1", "layer2"]
    sf.write(tmp_path / "at16k.wav", _sound(0, sr=16000), 16000, subtype="FLOAT")
    at_16k = torch.from_numpy(_sound(0, sr=16000))[None]
    at_20k = torch.from_numpy(_sound(0))[None]
    options = dict(layers=layers, pool="none", progress=False)
    reference = extract_activations(resnet, at_20k, **options)
    from_file = extract_activations(resnet, [tmp_path / "at16k.wav"], **options)
    declared = extract_activations(resnet, at_16k, sr=16000, **options)
    misdeclared = extract_activations(resnet, at_16k, **options)
    for layer in layers:
        norm = np.linalg.norm(reference[layer])
        assert np.linalg.norm(from_file[layer] - reference[layer]) < 0.05 * norm
        np.testing.assert_allclose(declared[layer], from_file[layer], atol=1e-6)
        assert np.linalg.norm(misdeclared[layer] - reference[layer]) > 0.12 * norm


# ----------------------------------------------------------------------------------- on disk


def test_streaming_to_disk_equals_memory_and_records_everything(resnet, sounds, tmp_path):
    layers = ["layer2", "avgpool"]
    out = tmp_path / "deep" / "acts.h5"
    options = dict(pool="none", batch_size=2, progress=False)
    in_memory = extract_activations(resnet, sounds, layers, **options)
    on_disk = extract_activations(resnet, sounds, layers, out=out, **options)
    assert on_disk.path == out and sorted(p.name for p in out.parent.iterdir()) == ["acts.h5"]
    reopened = load_activations(out)
    for result in (on_disk, reopened):
        assert list(result) == layers and result.sound_ids == in_memory.sound_ids
        assert result.sheet_shapes == {"layer2": (3, 4), "avgpool": (6, 8)}
        assert result.config == resnet.config and result.pool == "none" and not result.raw
        assert result.layouts == in_memory.layouts
        for layer in layers:
            assert isinstance(result[layer], np.memmap) and not result[layer].flags.writeable
            np.testing.assert_array_equal(result[layer], in_memory[layer])
    read = load_activations(out, layers=["avgpool"], mmap=False)
    assert list(read) == ["avgpool"] and not isinstance(read["avgpool"], np.memmap)
    np.testing.assert_array_equal(read["avgpool"], in_memory["avgpool"])

    # The documented layout, read with h5py alone.
    with h5py.File(out, "r") as f:
        assert f.attrs["format"] == "topoaudio-activations" and f.attrs["version"] == 2
        assert f.attrs["pool"] == "none" and not f.attrs["raw"]
        assert json.loads(f.attrs["config"]) == resnet.config
        assert json.loads(f.attrs["layers"]) == list(f["activations"]) == layers
        assert [key.decode() for key in f["sound_ids"][()]] == in_memory.sound_ids
        dataset = f["activations"]["layer2"]
        assert list(dataset.attrs["sheet_shape"]) == [3, 4]
        assert list(dataset.attrs["dims"]) == ["sound", "row", "col", "freq", "time"]
        np.testing.assert_array_equal(dataset[()], in_memory["layer2"])


def test_float16_files(resnet, sounds, tmp_path):
    pooled = extract_activations(resnet, sounds, ["layer1"], progress=False)
    half = extract_activations(
        resnet, sounds, ["layer1"], out=tmp_path / "h.h5", dtype="float16", progress=False
    )
    assert half["layer1"].dtype == np.float16
    np.testing.assert_allclose(half["layer1"], pooled["layer1"], rtol=2e-3, atol=1e-4)


class _Failing(Dataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int) -> dict:
        if i == 4:
            raise AudioError("/data/broken.wav: unreadable or truncated audio file")
        return {"waveform": torch.zeros(CLIP), "key": f"s{i}"}


def test_a_failed_extraction_leaves_no_file(resnet, tmp_path):
    out = tmp_path / "acts.h5"
    with pytest.raises(AudioError, match=r"broken\.wav"):
        extract_activations(resnet, _Failing(), ["layer1"], batch_size=2, out=out, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_extractions_to_one_path_leave_one_whole_run(resnet, sounds, tmp_path):
    """Two extractions of different sounds race to one file: it holds exactly one of them."""
    out = tmp_path / "acts.h5"
    runs = {"first": sounds[:3], "second": sounds[2:]}
    expected = {
        name: extract_activations(resnet, audio, ["layer1"], pool="none", progress=False)
        for name, audio in runs.items()
    }
    barrier, errors = threading.Barrier(2), []

    def extract(audio: torch.Tensor) -> None:
        try:
            barrier.wait()
            extract_activations(
                resnet, audio, ["layer1"], pool="none", batch_size=1, out=out, progress=False
            )
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=extract, args=(audio,)) for audio in runs.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [path.name for path in tmp_path.iterdir()] == ["acts.h5"]
    written = load_activations(out, mmap=False)["layer1"]
    matches = [
        name
        for name, result in expected.items()
        if written.shape == result["layer1"].shape
        and np.allclose(written, result["layer1"], atol=1e-6)
    ]
    assert len(matches) == 1


def _write_tacts(path: Path, values: np.ndarray, keys: list[str]) -> None:
    """A version-1 ``.tacts`` file of topoaudio-zoo 0.1 (one pooled layer), byte by byte."""
    header = {
        "format": "topoaudio-activations", "version": 1, "dtype": "float32",
        "n_sounds": len(keys), "time_pool": "mean", "library_version": "0.1.0", "config": {},
        "keys": keys,
        "layers": [{"name": "layer1", "module": "layer1", "n_units": 6, "sheet_shape": [2, 3],
                    "shape": list(values.shape), "dims": ["sound", "row", "col"],
                    "offset": 64, "nbytes": values.nbytes}],
    }  # fmt: skip
    data_end = 64 + values.nbytes
    text = json.dumps(header).encode()
    preamble = struct.pack("<8sIIQQ", b"TOPOACTS", 1, 0, data_end, len(text)).ljust(64, b"\0")
    path.write_bytes(preamble + values.astype("<f4").tobytes() + text)


def test_old_tacts_files_are_read_with_a_deprecation_warning(tmp_path):
    values = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    _write_tacts(tmp_path / "old.tacts", values, ["a.wav", "b.wav"])
    with pytest.warns(DeprecationWarning, match=r"\.tacts format .* deprecated"):
        old = load_activations(tmp_path / "old.tacts")
    assert isinstance(old, Mapping) and list(old) == ["layer1"]
    assert old.sound_ids == ["a.wav", "b.wav"] and old.pool == "unit" and old.raw
    np.testing.assert_array_equal(old["layer1"], values)


def test_reading_incomplete_or_foreign_files_fails_clearly(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY" + bytes(100))
    with pytest.raises(ValueError, match="not a topoaudio-zoo activation file"):
        load_activations(tmp_path / "x.npy")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a complete activation file"):
        load_activations(tmp_path / "other.h5")
    with pytest.raises(FileNotFoundError, match=r"missing\.h5"):
        load_activations(tmp_path / "missing.h5")


class _Synthetic(Dataset):
    """Sounds made on demand from their index: the input itself takes no memory."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        generator = torch.Generator().manual_seed(i)
        waveform = torch.randn(CLIP, generator=generator)
        return {"waveform": waveform * (0.1 / waveform.std()), "key": f"noise{i}"}


def _peak_numpy_bytes(model, n: int, out: Path | None) -> int:
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    result = extract_activations(
        model, _Synthetic(n), ["conv1_relu1"], pool="none", batch_size=8, out=out,
        progress=False,
    )  # fmt: skip
    peak = tracemalloc.get_traced_memory()[1] - start
    del result
    return peak


@pytest.mark.slow
def test_streaming_memory_stays_flat_in_the_number_of_sounds(resnet, tmp_path):
    n = 24
    row_bytes = 6 * 106 * 15 * 4  # one sound of conv1_relu1 unpooled, float32
    tracemalloc.start()
    try:
        _peak_numpy_bytes(resnet, 8, tmp_path / "warm.h5")
        streamed = [_peak_numpy_bytes(resnet, k * n, tmp_path / f"{k}.h5") for k in (1, 4)]
        in_memory = [_peak_numpy_bytes(resnet, k * n, None) for k in (1, 4)]
    finally:
        tracemalloc.stop()
    extra = 3 * n * row_bytes
    # The measurement sees memory that grows with N (the in-memory arrays) ...
    assert in_memory[1] - in_memory[0] > 0.9 * extra
    # ... and streaming does not grow with N.
    assert streamed[1] - streamed[0] < 0.05 * extra
    assert load_activations(tmp_path / "4.h5")["conv1_relu1"].shape == (4 * n, 2, 3, 106, 15)


# --------------------------------------------------------------------------------------- CLI


def test_cli_extract_writes_a_file(resnet, sounds, tmp_path, capsys):
    folder = tmp_path / "model"
    resnet.save_pretrained(folder)
    keys = _write_folder(tmp_path / "audio", sounds[:3])
    out = tmp_path / "acts.h5"
    argv = ["extract", str(folder), str(tmp_path / "audio"), "--layers", "layer1", "avgpool",
            "--out", str(out), "--pool", "time", "--batch-size", "2",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert f"wrote {out}: 3 sounds" in capsys.readouterr().out
    written = load_activations(out)
    expected = extract_activations(resnet, sounds[:3], ["layer1", "avgpool"], pool="time",
                                   progress=False)  # fmt: skip
    assert written.sound_ids == sorted(keys) and written.pool == "time"
    rows = [keys.index(key) for key in written.sound_ids]
    for layer in ("layer1", "avgpool"):
        np.testing.assert_allclose(written[layer], expected[layer][rows], atol=1e-5)


@pytest.mark.slow
def test_cli_extract_reports_bad_layers_and_audio(resnet, tmp_path, capsys):
    folder = tmp_path / "model"
    resnet.save_pretrained(folder)
    (tmp_path / "broken.wav").write_bytes(b"not a wav")
    out = tmp_path / "acts.h5"
    for argv, message in (
        (["--layers", "layer9"], "conv1_relu1, maxpool1, layer1"),
        (["--layers", "layer1"], "broken.wav: unreadable"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(["extract", str(folder), str(tmp_path / "broken.wav"), "--out", str(out), *argv])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert not out.exists()


# -------------------------------------------------------------------------------- bad input


def test_bad_inputs_are_named(resnet, sounds, tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"not a wav")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no sounds here")
    one = sounds[:1]
    cases = [
        (dict(audio=[tmp_path / "broken.wav"]), AudioError, "broken.wav: unreadable"),
        (dict(audio=[tmp_path / "nope.wav"]), AudioError, "nope.wav: no such audio file"),
        (dict(audio=tmp_path / "missing"), AudioError, "missing: no such audio file or folder"),
        (dict(audio=tmp_path / "empty"), AudioError, "empty: no audio files"),
        (dict(audio=[]), AudioError, "empty"),
        (dict(audio=torch.zeros(0, CLIP)), AudioError, r"got shape \(0, 4000\)"),
        (dict(audio=one.clone().fill_(float("nan"))), AudioError, r"audio\[0\]: .*NaN"),
        (dict(audio=tmp_path / "broken.wav", sr=16000), AudioError, "sr: only for waveform"),
        (dict(audio=3), AudioError, "got int"),
        (dict(layers=["layer9"]), ValueError, "conv1_relu1, maxpool1, layer1, layer2"),
        (dict(layers=[]), ValueError, "one or more"),
        (dict(layers=["layer1", "layer1"]), ValueError, "more than once"),
        (dict(pool="mean"), ValueError, "pool: expected one of"),
        (dict(raw="yes"), ValueError, "raw"),
        (dict(out=tmp_path / "acts.tacts"), ValueError, "retired"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(dtype="float64"), ValueError, "dtype"),
        (dict(out=tmp_path), ValueError, "is a folder"),
        (dict(model=42), ValueError, "model: expected a TopoAudioModel"),
        (dict(model="no-such-model"), ValueError, "unknown model 'no-such-model'"),
        (
            dict(audio=_PreparedSounds(resnet, one, ["a"], clip=CLIP - 1)),
            AudioError,
            "clip_samples=4000",
        ),
        (
            dict(audio=AudioFolderDataModule(str(tmp_path), sr=16000, clip_samples=CLIP)),
            AudioError,
            "at 16000 Hz, the model takes 20000 Hz",
        ),
    ]
    for overrides, error, message in cases:
        kwargs = dict(model=resnet, audio=one, layers=["layer1"], progress=False)
        kwargs.update(overrides)
        with pytest.raises(error, match=message):
            extract_activations(**kwargs)


def test_hooks_are_removed_and_modes_restored(resnet, sounds):
    resnet.backbone.layer1.train()
    try:
        extract_activations(resnet, sounds[:2], ["layer1", "layer2.0"], progress=False)
        modes = {name: m.training for name, m in resnet.named_modules()}
    finally:
        resnet.eval()
    assert modes["backbone.layer1"] and modes["backbone.layer1.0.bn1"]
    assert not modes[""] and not modes["backbone.layer2"]
    assert all(not m._forward_hooks for m in resnet.modules())


# ---------------------------------------------------------------- mapping, defaults, post-ReLU


def test_the_result_is_a_mapping_of_every_readout_stage_by_default(resnet, sounds):
    acts = extract_activations(resnet, sounds[:2], progress=False)
    stages = ["conv1_relu1", "maxpool1", "layer1", "layer2", "layer3", "layer4", "avgpool"]
    assert isinstance(acts, Mapping)
    assert list(acts) == list(acts.keys()) == stages and len(acts) == len(stages)
    assert "layer2" in acts and "final" not in acts and 0 not in acts
    assert [name for name, _ in acts.items()] == stages
    assert all(value is acts[name] for name, value in zip(stages, acts.values(), strict=True))
    assert acts.get("nope") is None and dict(acts).keys() == acts.keys()
    assert acts.sound_ids == ["sound0", "sound1"] and acts.n_sounds == 2
    assert acts.sheet_shapes["layer4"] == (6, 8) and acts.dims["layer4"] == ("sound", "row", "col")
    with pytest.raises(KeyError, match="no layer 'nope'; layers: conv1_relu1"):
        acts["nope"]


def test_conv_layers_are_read_after_their_norm_and_relu_unless_raw(resnet, sounds):
    b = resnet.backbone
    with torch.no_grad():
        coch = _cochleagrams(resnet, sounds)
        conv1 = b.conv1(coch)
        stem = b.relu(b.bn1(conv1))
        block_in = b.layer1(b.maxpool(stem))
        block = b.layer2[0]
        inner = block.bn1(block.conv1(block_in))
        out = block(block_in)
        block_conv1 = block.conv1(block_in)
    layers = ["conv1", "layer2.0.conv1", "layer2.0.conv2", "layer2.0.downsample.0"]
    post = extract_activations(resnet, sounds, layers, pool="none", progress=False)
    raw = extract_activations(resnet, sounds, layers, pool="none", raw=True, progress=False)
    assert post.modules == {
        "conv1": "relu",
        "layer2.0.conv1": "layer2.0.relu1",
        "layer2.0.conv2": "layer2.0.relu2",
        "layer2.0.downsample.0": "layer2.0.relu2",
    }
    assert raw.modules == {layer: layer for layer in layers} and raw.raw and not post.raw
    expected_post = {
        "conv1": stem,
        "layer2.0.conv1": inner.relu(),
        "layer2.0.conv2": out,  # its ReLU follows the residual sum: the block's output
        "layer2.0.downsample.0": out,
    }
    expected_raw = {"conv1": conv1, "layer2.0.conv1": block_conv1}
    for layer, values in expected_post.items():
        np.testing.assert_allclose(post[layer], to_sheet(values, dim=1), atol=1e-5)
    for layer, values in expected_raw.items():
        np.testing.assert_allclose(raw[layer], to_sheet(values, dim=1), atol=1e-5)
    assert (post["conv1"] >= 0).all() and (raw["conv1"] < 0).any()


def test_transformer_linears_are_read_after_their_gelu(ast, sounds):
    acts = extract_activations(ast, sounds, ["blocks.1.mlp.fc1", "blocks.1.mlp.fc2"],
                               pool="none", progress=False)  # fmt: skip
    assert acts.modules == {"blocks.1.mlp.fc1": "blocks.1.mlp.act", "blocks.1.mlp.fc2": (
        "blocks.1.mlp.fc2")}  # fmt: skip
    raw = extract_activations(ast, sounds, ["blocks.1.mlp.fc1"], pool="none", raw=True,
                              progress=False)  # fmt: skip
    np.testing.assert_allclose(
        acts["blocks.1.mlp.fc1"], F.gelu(torch.from_numpy(raw["blocks.1.mlp.fc1"])), atol=1e-5
    )


class _WaveNet(torch.nn.Module):
    """A plain module on 20-kHz waveforms: 1-D conv + BN + ReLU, then a 2-D conv stage."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 6, 64, stride=32)
        self.norm = torch.nn.BatchNorm1d(6)
        self.act = torch.nn.ReLU()
        self.image = torch.nn.Sequential(torch.nn.Conv2d(1, 12, 3), torch.nn.ReLU())
        self.out = torch.nn.Linear(12, 4)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        frames = self.act(self.norm(self.conv(waveform[:, None])))
        maps = self.image(frames[:, None])
        return self.out(maps.mean((2, 3)))


def test_any_torch_module_on_waveforms_with_explicit_layers(sounds):
    torch.manual_seed(0)
    net = _WaveNet().eval()
    at_16k = torch.from_numpy(np.stack([_sound(i, sr=16000) for i in range(3)]))
    layers = ["conv", "image.0", "out"]
    acts = extract_activations(net, at_16k, layers, pool="time", sr=16000, progress=False)
    unit = extract_activations(net, sounds[:3], layers, progress=False)
    full = extract_activations(net, sounds[:3], layers, pool="none", progress=False)
    assert acts.modules == {"conv": "act", "image.0": "image.1", "out": "out"}
    assert acts.config is None and acts.sheet_shapes == {
        "conv": sheet_shape(6),
        "image.0": sheet_shape(12),
        "out": sheet_shape(4),
    }
    frames = (CLIP - 64) // 32 + 1
    assert {layer: full[layer].shape[1:] for layer in layers} == {
        "conv": (2, 3, frames), "image.0": (3, 4, 4, frames - 2), "out": (2, 2)
    }  # fmt: skip
    assert full.dims["conv"] == ("sound", "row", "col", "time")
    assert acts["conv"].shape == (3, 2, 3) and acts["image.0"].shape == (3, 3, 4, 4)
    with torch.no_grad():
        expected = net.act(net.norm(net.conv(sounds[:3, None])))
    np.testing.assert_allclose(full["conv"], to_sheet(expected, dim=1), atol=1e-5)
    np.testing.assert_allclose(unit["conv"], to_sheet(expected.mean(2), dim=1), atol=1e-5)
    no_parameters = extract_activations(torch.nn.Tanh(), sounds[:2], [""], progress=False)
    assert no_parameters[""].shape == (2, *sheet_shape(CLIP))  # a (batch, units) read-out
    with pytest.raises(ValueError, match=r"layers: required for a plain torch\.nn\.Module"):
        extract_activations(net, sounds, progress=False)
    with pytest.raises(ValueError, match=r"'layer1' is not a module path of this _WaveNet\b"):
        extract_activations(net, sounds, ["layer1"], progress=False)
    with pytest.raises(AudioError, match=r"plain torch\.nn\.Module takes waveforms"):
        extract_activations(net, "sounds/", ["conv"], progress=False)
