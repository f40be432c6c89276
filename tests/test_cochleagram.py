"""The cochleagram front end against the reference implementation's outputs, and its contract."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from topoaudio_zoo import Cochleagram, CochleagramConfig
from topoaudio_zoo.cochleagram import PRESETS, clipped_power_compression
from topoaudio_zoo.cochleagram.module import _decimate_polyphase

REFERENCE = Path(__file__).parent / "data" / "cochleagram_1_reference.npz"


@pytest.fixture(scope="module")
def reference():
    data = np.load(REFERENCE)
    return torch.from_numpy(data["signals"]), data["cochleagrams"], data["cf"]


@pytest.fixture(scope="module")
def fronts():
    return {mode: Cochleagram(mode=mode) for mode in ("exact", "fast")}


def _errors(out, ref):
    err = np.abs(out - ref).reshape(len(ref), -1)
    return err.max(axis=1), np.sqrt((err**2).mean(axis=1))


@pytest.mark.slow
def test_exact_mode_reproduces_reference(reference, fronts):
    signals, cochleagrams, _ = reference
    out = fronts["exact"](signals)
    assert out.shape == (3, 211, 390) and out.dtype == torch.float32
    max_err, _ = _errors(out.numpy(), cochleagrams)
    assert (max_err <= 1e-4).all(), max_err


def test_fast_mode_matches_reference(reference, fronts):
    signals, cochleagrams, _ = reference
    out = fronts["fast"](signals)
    max_err, rms_err = _errors(out.numpy(), cochleagrams)
    assert (max_err <= 2e-3).all(), max_err
    assert (rms_err <= 1e-4).all(), rms_err


def test_attributes(reference, fronts):
    _, _, cf = reference
    front = fronts["fast"]
    assert front.sr == 20000 and front.env_sr == 200
    np.testing.assert_allclose(front.cf, cf, rtol=1e-12)
    assert front.n_channels == len(front.cf) == 211 and front.n_frames == 390
    assert front.output_shape(4) == (4, 211, 390)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_nothing_large_is_persisted(fronts, mode):
    buffer = io.BytesIO()
    torch.save(fronts[mode].state_dict(), buffer)
    assert buffer.tell() < 1_000_000
    assert len(fronts[mode].state_dict()) == 0


def test_input_layouts_give_the_same_output(reference, fronts):
    signals, _, _ = reference
    front = fronts["fast"]
    batched = front(signals[:2])
    torch.testing.assert_close(front(signals[:2, None, :]), batched)
    torch.testing.assert_close(front(signals[0]), batched[:1])


def test_follows_input_dtype(reference, fronts):
    signals, cochleagrams, _ = reference
    out64 = fronts["fast"](signals.double())
    assert out64.dtype == torch.float64
    assert np.abs(out64.numpy() - cochleagrams).max() <= 2e-3
    out16 = fronts["fast"](signals.bfloat16())
    assert out16.dtype == torch.bfloat16


def test_autocast_does_not_lower_precision(reference, fronts):
    signals, _, _ = reference
    plain = fronts["fast"](signals[:1])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = fronts["fast"](signals[:1])
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, plain)


@pytest.mark.slow
def test_seven_second_preset_and_other_lengths():
    front = Cochleagram("cochleagram_1_7s")
    assert front.signal_size == 140000
    assert front(torch.randn(1, 140000) * 0.1).shape == (1, 211, 1390)
    one_second = Cochleagram(signal_size=20000)
    assert one_second(torch.randn(2, 20000) * 0.1).shape == (2, 211, 190)


def test_overrides_change_the_bank_and_fast_tracks_exact():
    kwargs = dict(signal_size=16000, n=30, low_lim=100.0, high_lim=7000.0)
    exact, fast = Cochleagram(mode="exact", **kwargs), Cochleagram(mode="fast", **kwargs)
    assert exact.n_channels == 4 * 31 - 1 + 8
    assert exact.cf.min() < 100 < 7000 < exact.cf.max()
    x = torch.from_numpy(np.random.default_rng(3).normal(0, 0.1, (2, 16000)).astype(np.float32))
    a, b = exact(x), fast(x)
    assert a.shape == (2, exact.n_channels, (16000 - 1001) // 100 + 1)
    assert (a - b).abs().max() < 2e-3


@pytest.mark.parametrize("length, stride, n_taps, n_frames", [(400, 8, 81, 40), (405, 5, 23, 80)])
def test_decimation_is_a_strided_correlation_of_the_periodic_envelope(
    length, stride, n_taps, n_frames
):
    """Frame i = Σ_k taps[k] · envelope[(i · stride + k) mod length], also where the last frames
    reach past the end (the second case) and the taps are not a whole number of strides."""
    rng = np.random.default_rng(0)
    envelope, taps = rng.random((2, 3, length)), rng.standard_normal(n_taps)
    positions = np.arange(n_frames)[:, None] * stride + np.arange(n_taps)
    expected = (envelope[..., positions % length] * taps).sum(-1)
    out = _decimate_polyphase(torch.from_numpy(envelope), torch.from_numpy(taps), stride, n_frames)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_fast_tracks_exact_at_a_length_of_no_whole_number_of_hops():
    """40 050 samples (400.5 hops): 391 frames, and the fast mode's polyphase blocks reach past
    the end of its envelope."""
    exact, fast = Cochleagram(mode="exact", signal_size=40050), Cochleagram(signal_size=40050)
    x = torch.from_numpy(np.random.default_rng(4).normal(0, 0.1, (1, 40050)).astype(np.float32))
    a, b = exact(x), fast(x)
    assert a.shape == b.shape == (1, 211, 391)
    assert (a - b).abs().max() < 2e-3


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_gradient_matches_finite_differences(mode):
    torch.manual_seed(0)
    front = Cochleagram(
        mode=mode,
        sr=2000,
        env_sr=100,
        signal_size=400,
        window_size=61,
        n=4,
        low_lim=100.0,
        high_lim=900.0,
        sample_factor=2,
        compression_clip=1e9,
    )
    x = (torch.randn(1, 400, dtype=torch.float64) * 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda w: front(w).sum(dim=(1, 2)), (x,), eps=1e-6, atol=1e-5)


def test_waveform_gradient_is_finite_with_default_clipping(reference, fronts):
    signals, _, _ = reference
    x = signals[2:3].clone().requires_grad_()
    fronts["fast"](x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_compression_gradient_is_clipped():
    x = torch.tensor([-1.0, 0.0, 1e-6, 1.0], requires_grad=True)
    clipped_power_compression(x, power=0.3, offset=1e-8, clip=5.0).sum().backward()
    expected = torch.clamp(0.3 * (x.detach().clamp_min(0) + 1e-8) ** -0.7, max=5.0)
    torch.testing.assert_close(x.grad, expected)
    assert x.grad[0] == 5.0  # gradients pass through the rectification


def test_presets_are_configs():
    assert set(PRESETS) == {"cochleagram_1", "cochleagram_1_7s"}
    assert PRESETS["cochleagram_1"] == CochleagramConfig()
    assert PRESETS["cochleagram_1"].n_frames == 390


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"high_lim": 12000.0}, "high_lim"),
        ({"env_sr": 300}, "sr/env_sr"),
        ({"signal_size": 800}, "signal_size"),
        ({"low_lim": 20000.0, "high_lim": 9000.0}, "low_lim"),
        ({"sample_factor": 0}, "sample_factor"),
        ({"mode": "slow"}, "mode"),
        ({"preset": "cochleagram_9"}, "preset"),
        ({"n_filters": 3}, "unknown cochleagram parameter"),
    ],
)
def test_bad_configuration_is_a_value_error_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Cochleagram(**kwargs)


@pytest.mark.parametrize(
    ("waveform", "message"),
    [
        (torch.zeros(2, 2, 40000), r"expected shape \(time,\)"),
        (torch.zeros(2, 39999), "39999 samples"),
        (torch.zeros(0, 40000), "batch is empty"),
        (torch.zeros(1, 40000, dtype=torch.int16), "floating-point"),
        (torch.full((1, 40000), float("nan")), "NaN"),
        (torch.full((1, 40000), float("inf")), "infinite"),
    ],
)
def test_bad_waveform_is_a_value_error(fronts, waveform, message):
    with pytest.raises(ValueError, match=message):
        fronts["fast"](waveform)


def test_non_tensor_input_is_rejected(fronts):
    with pytest.raises(ValueError, match=r"torch\.Tensor"):
        fronts["fast"](np.zeros(40000, dtype=np.float32))
