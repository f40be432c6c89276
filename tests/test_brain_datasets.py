"""NH2015 loader on synthetic files written in exactly the published formats (never the data)."""

import csv
import shutil

import numpy as np
import pytest
import scipy.io
import soundfile as sf

from topoaudio_zoo.brain import NH2015_CATEGORIES, NH2015_SOUNDS, load_nh2015
from topoaudio_zoo.brain import nh2015 as nh2015_module
from topoaudio_zoo.data.download import ChecksumError, DatasetNotFoundError, file_digest

COMPONENTS = ["lowfreq", "highfreq", "envsounds", "pitch", "speech", "music"]


def _cell(strings, shape):
    """A MATLAB cell of strings in the nesting of ``components.mat``: each a ``(1,)`` array."""
    cell = np.empty(shape, dtype=object)
    for index, text in zip(np.ndindex(*shape), strings, strict=True):
        cell[index] = np.array([text])
    return cell


def write_nh2015(root, order=None, sr=8000, seconds=0.05, seed=0):
    """A synthetic NH2015 folder: components.mat, category_labels.csv, wav/ of tiny tones."""
    rng = np.random.default_rng(seed)
    names = list(order if order is not None else rng.permutation(NH2015_SOUNDS))
    categories = [NH2015_CATEGORIES[i % len(NH2015_CATEGORIES)] for i in range(len(names))]
    responses = rng.standard_normal((len(names), len(COMPONENTS)))
    (root / "wav").mkdir(parents=True)
    scipy.io.savemat(
        root / "components.mat",
        {
            "R": responses,
            "W": rng.standard_normal((len(COMPONENTS), 20)),
            "component_names": _cell(COMPONENTS, (len(COMPONENTS), 1)),
            "stim_names": _cell(names, (1, len(names))),
            "category_labels": _cell(categories, (1, len(names))),
            "categories": _cell(NH2015_CATEGORIES, (len(NH2015_CATEGORIES), 1)),
        },
    )
    with open(root / "category_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(zip(names, categories, strict=True))
    t = np.arange(round(sr * seconds)) / sr
    for i, name in enumerate(names):
        sf.write(root / "wav" / f"{name}.wav", np.sin(2 * np.pi * (200 + 10 * i) * t), sr)
    return names, categories, responses


def test_components_mat_in_the_published_nesting_loads(tmp_path):
    names, categories, responses = write_nh2015(tmp_path)
    data = load_nh2015(tmp_path, verify=False, progress=False)
    assert data.names == names  # the order of components.mat, not sorted
    assert data.names != sorted(names)
    assert data.categories == categories
    assert data.component_names == COMPONENTS
    np.testing.assert_array_equal(data.components, responses)
    assert data.paths[0] == tmp_path / "wav" / f"{names[0]}.wav"


def test_waveforms_are_resampled_cropped_padded_and_normalised(tmp_path):
    write_nh2015(tmp_path, sr=8000, seconds=0.05)
    data = load_nh2015(tmp_path, verify=False, progress=False)
    waves = data.waveforms(sample_rate=16000, duration=0.1)
    assert waves.shape == (165, 1600) and waves.dtype == np.float32
    first = waves[:, :780]  # the 50 ms of sound, resampled from 8 kHz
    assert np.allclose(np.sqrt((waves**2).mean(axis=1)), 0.1, atol=1e-5)
    assert np.ptp(waves[:, 820:], axis=1).max() < 1e-5  # zero padding (demeaned)
    spectrum = np.abs(np.fft.rfft(first[3]))
    assert abs(np.argmax(spectrum) * 16000 / 780 - 230) < 25  # the 230 Hz tone of sound 3
    with pytest.raises(ValueError, match="duration"):
        data.waveforms(duration=0.0)


def test_missing_files_are_listed_with_where_to_get_them(tmp_path):
    write_nh2015(tmp_path)
    (tmp_path / "wav" / f"{NH2015_SOUNDS[7]}.wav").unlink()
    with pytest.raises(DatasetNotFoundError, match=NH2015_SOUNDS[7]) as err:
        load_nh2015(tmp_path, verify=False, progress=False)
    assert "raw.githubusercontent.com/snormanhaignere" in str(err.value)
    assert "download=True" in str(err.value)


def test_extra_sound_is_named(tmp_path):
    write_nh2015(tmp_path)
    sf.write(tmp_path / "wav" / "stim999_kazoo.wav", np.zeros(100), 8000)
    with pytest.raises(ValueError, match="stim999_kazoo"):
        load_nh2015(tmp_path, verify=False, progress=False)


def test_stimulus_list_with_a_sound_missing_is_named(tmp_path):
    write_nh2015(tmp_path, order=[*NH2015_SOUNDS[:-1], "stim999_kazoo"])
    wav = tmp_path / "wav"
    (wav / "stim999_kazoo.wav").rename(wav / f"{NH2015_SOUNDS[-1]}.wav")
    with pytest.raises(ValueError, match=f"missing \\['{NH2015_SOUNDS[-1]}'\\].*stim999_kazoo"):
        load_nh2015(tmp_path, verify=False, progress=False)


def test_reordered_category_file_is_named(tmp_path):
    names, categories, _ = write_nh2015(tmp_path)
    swapped = list(zip(names, categories, strict=True))
    swapped[2], swapped[5] = swapped[5], swapped[2]
    with open(tmp_path / "category_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows(swapped)
    with pytest.raises(ValueError, match=f"another order.*row 3: {names[5]}"):
        load_nh2015(tmp_path, verify=False, progress=False)


def test_checksums_are_verified_by_default(tmp_path):
    write_nh2015(tmp_path)
    with pytest.raises(ChecksumError, match=r"components\.mat"):
        load_nh2015(tmp_path, progress=False)


def test_download_fetches_and_verifies_every_file(tmp_path, monkeypatch):
    remote = tmp_path / "repo"
    write_nh2015(tmp_path / "flat")
    for local, target in (
        ("components.mat", "data/components.mat"),
        ("category_labels.csv", "sounds/category_labels.csv"),
        ("wav", "sounds/wav"),
    ):
        (remote / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(tmp_path / "flat" / local, remote / target)
    digests = {
        "components.mat": file_digest(remote / "data/components.mat"),
        "category_labels.csv": file_digest(remote / "sounds/category_labels.csv"),
    }
    for name in NH2015_SOUNDS:
        digests[f"wav/{name}.wav"] = file_digest(remote / "sounds/wav" / f"{name}.wav")
    monkeypatch.setattr(nh2015_module, "NH2015_SHA256", digests)
    cache = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError):
        load_nh2015(cache, progress=False, base_url=remote.as_uri() + "/")
    data = load_nh2015(cache, download=True, progress=False, base_url=remote.as_uri() + "/")
    assert len(data.names) == 165 and (cache / "wav" / f"{data.names[0]}.wav").is_file()
    digests["components.mat"] = "0" * 64
    with pytest.raises(ChecksumError, match=r"components\.mat"):
        load_nh2015(cache, progress=False)
