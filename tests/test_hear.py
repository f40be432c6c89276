"""The HEAR API contract (hearbenchmark.com docs/api.md), tested directly: hearvalidator needs
TensorFlow, which this project does not install."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from zoo_helpers import saved_model, tiny_model

from topoaudio_zoo import hear

RATE = 16000


@pytest.fixture(scope="module")
def tiny() -> hear.HearModel:
    """A width-4 CochResNet18 on 0.2-s clips: 5 frames per window, 3 kept, 1 of context."""
    return hear.HearModel(tiny_model(seed=0), sample_rate=RATE, window_batch=4)


def _sounds(n: int, seconds: float, rate: int = RATE, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(round(seconds * rate)) / rate
    f0 = 200.0 * (1 + torch.rand(n, 1, generator=generator))
    noise = 0.05 * torch.randn(n, t.numel(), generator=generator)
    return (0.3 * torch.sin(2 * math.pi * f0 * t) + noise).float()


@pytest.mark.slow
def test_the_default_model_has_the_hear_attributes():
    model = hear.load_model()  # "": the embedded default
    assert model.model.config["name"] == hear.DEFAULT_MODEL
    assert model.sample_rate in (16000, 22050, 44100, 48000)
    assert isinstance(model.scene_embedding_size, int) and model.scene_embedding_size > 0
    # the full-width default's last three stages: 128 + 256 + 512 channels
    assert model.timestamp_embedding_size == model.scene_embedding_size == 128 + 256 + 512
    embeddings, _ = hear.get_timestamp_embeddings(_sounds(2, 2.5), model)
    assert embeddings.shape == (2, math.ceil(2.5 / 0.04), model.timestamp_embedding_size)
    assert hear.get_scene_embeddings(_sounds(1, 0.3), model).shape == (1, 896)


def test_shapes_dtypes_and_timestamps(tiny):
    audio = _sounds(3, 0.95)
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, tiny)
    n_frames = math.ceil(audio.shape[1] / (RATE * 0.04))  # 24 frames of 40 ms
    assert embeddings.shape == (3, n_frames, tiny.timestamp_embedding_size)
    assert embeddings.dtype == timestamps.dtype == torch.float32
    assert timestamps.shape == (3, n_frames)
    hops = torch.diff(timestamps, dim=1)
    assert torch.all(hops == 40.0) and 40.0 <= 50.0  # ms, HEAR asks for a hop of at most 50 ms
    assert timestamps[0, 0] == 20.0 and torch.equal(timestamps[0], timestamps[2])
    assert torch.isfinite(embeddings).all() and embeddings.abs().sum() > 0
    scene = hear.get_scene_embeddings(audio, tiny)
    assert scene.shape == (3, tiny.scene_embedding_size) and scene.dtype == torch.float32
    torch.testing.assert_close(scene, embeddings.mean(dim=1))


def test_deterministic_and_independent_of_the_batch(tiny):
    audio = _sounds(4, 0.7)
    first, _ = hear.get_timestamp_embeddings(audio, tiny)
    again, _ = hear.get_timestamp_embeddings(audio, tiny)
    assert torch.equal(first, again)
    alone, _ = hear.get_timestamp_embeddings(audio[2:3], tiny)
    others = torch.cat([audio[2:3], _sounds(2, 0.7, seed=9)])
    with_others, _ = hear.get_timestamp_embeddings(others, tiny)
    torch.testing.assert_close(alone[0], first[2], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(with_others[0], first[2], atol=1e-5, rtol=1e-5)
    louder, _ = hear.get_timestamp_embeddings(audio * 3, tiny)  # level-normalised per sound
    torch.testing.assert_close(louder, first, atol=1e-4, rtol=1e-4)


def test_each_frame_is_where_its_timestamp_says(tiny):
    """A click at 0.5 s changes the frames around 0.5 s most (the rest changes a little: the
    click changes the sound's level, which is normalised as a whole)."""
    quiet = _sounds(1, 1.2) * 0.1
    click = quiet.clone()
    click[0, int(0.5 * RATE) : int(0.5 * RATE) + 16] += 0.9
    base, timestamps = hear.get_timestamp_embeddings(quiet, tiny)
    changed, _ = hear.get_timestamp_embeddings(click, tiny)
    difference = (changed - base)[0].norm(dim=1)
    peak = float(timestamps[0, int(difference.argmax())])
    assert abs(peak - 500.0) <= 20.0  # the frame [480, 520) ms
    far = (timestamps[0] - 500.0).abs() > 300.0
    assert difference[far].max() < 0.3 * difference.max()


@pytest.mark.slow
def test_long_audio_runs_in_bounded_batches_of_windows(tiny, monkeypatch):
    seen = []
    window_embeddings = tiny._window_embeddings

    def spy(windows: torch.Tensor) -> torch.Tensor:
        seen.append(windows.shape)
        return window_embeddings(windows)

    monkeypatch.setattr(tiny, "_window_embeddings", spy)
    audio = _sounds(2, 12.0)  # 300 frames, 100 windows of 3 frames per sound
    embeddings, timestamps = hear.get_timestamp_embeddings(audio, tiny)
    assert embeddings.shape[1] == 300 and float(timestamps[0, -1]) == 11980.0
    assert len(seen) == math.ceil(2 * 100 / 4)
    assert all(shape == (4, 5 * 640) or shape[0] < 4 for shape in seen)  # ≤ window_batch


def test_input_rates_are_resampled_to_the_network_rate():
    model = tiny_model(seed=1)
    at_16k = hear.HearModel(model, sample_rate=16000)
    at_48k = hear.HearModel(model, sample_rate=48000)
    low, t16 = hear.get_timestamp_embeddings(_sounds(1, 1.0, 16000), at_16k)
    high, t48 = hear.get_timestamp_embeddings(_sounds(1, 1.0, 48000), at_48k)
    assert torch.equal(t16, t48) and low.shape == high.shape
    r = np.corrcoef(low.flatten().numpy(), high.flatten().numpy())[0, 1]
    assert r > 0.98


def test_load_model_sources_and_bad_input(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    saved_model(tmp_path / "mine", seed=2)
    model = hear.load_model("./mine")
    assert model.model.config["name"] == "tiny-test-model" and model.sample_rate == 16000
    with pytest.raises(ValueError, match="sample_rate"):
        hear.load_model("./mine", sample_rate=20000)
    with pytest.raises(ValueError, match="audio: expected a float tensor"):
        hear.get_scene_embeddings(torch.zeros(3, 100, dtype=torch.int16), model)
    with pytest.raises(ValueError, match="audio: expected a float tensor"):
        hear.get_scene_embeddings(torch.zeros(100), model)
    with pytest.raises(ValueError, match="audio: no samples"):
        hear.get_scene_embeddings(torch.zeros(2, 0), model)


# torch's triton and TensorFlow both bundle LLVM: triton loaded after TensorFlow segfaults, and
# the validator imports TensorFlow before our module, so triton (when torch has it) goes first.
HEARVALIDATOR = """
import importlib.util, runpy, sys
if importlib.util.find_spec("triton") is not None:
    import triton
sys.argv[1:] = ["topoaudio_zoo.hear"]
runpy.run_module("hearvalidator.validate", run_name="__main__")
"""


@pytest.mark.slow
def test_hearvalidator_accepts_the_module():
    assert importlib.util.find_spec("hearvalidator") is not None, "scripts/setup.sh --dev"
    result = subprocess.run(
        [sys.executable, "-c", HEARVALIDATOR],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    for check in ("Model sample rate is: 16000", "Interval between timestamps is 40.0ms"):
        assert check in output, output[-3000:]
    # The validator's verdict is its last line of stdout; TensorFlow may log to stderr after it.
    assert result.stdout.rstrip().endswith("Looks good!"), output[-3000:]
