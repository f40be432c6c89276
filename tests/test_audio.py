"""Audio loading and preparation: formats, mono, resampling, crop/pad, RMS, and clear errors."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from topoaudio_zoo.audio import (
    AudioError,
    crop_or_pad,
    load_audio,
    normalize_rms,
    prepare_waveform,
    resample,
)


def _tone(freq, sr, seconds=0.5, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * math.pi * freq * t)).astype(np.float32)


def _peak_hz(x, sr):
    spectrum = np.abs(np.fft.rfft(np.asarray(x)))
    return np.argmax(spectrum) * sr / len(x)


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype"),
    [
        (".wav", "WAV", "PCM_16"),
        (".flac", "FLAC", "PCM_16"),
        (".ogg", "OGG", "VORBIS"),
        (".mp3", "MP3", "MPEG_LAYER_III"),
    ],
)
def test_reads_common_formats_resampled_to_target_rate(tmp_path, suffix, fmt, subtype):
    path = tmp_path / f"tone{suffix}"
    sf.write(path, _tone(1000, 16000), 16000, format=fmt, subtype=subtype)
    waveform, sr = load_audio(path, sr=20000)
    assert sr == 20000
    assert waveform.dtype == torch.float32 and waveform.ndim == 1
    assert abs(waveform.numel() - 10000) <= 1200  # lossy codecs add priming samples
    assert abs(_peak_hz(waveform, 20000) - 1000) < 5


def test_stereo_is_averaged_and_rate_kept_without_target(tmp_path):
    left, right = _tone(440, 8000), _tone(880, 8000)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 8000, subtype="FLOAT")
    waveform, sr = load_audio(path)
    assert sr == 8000
    np.testing.assert_allclose(waveform.numpy(), (left + right) / 2, atol=1e-6)


def test_resample_keeps_frequency_and_duration():
    x = torch.from_numpy(_tone(3000, 44100, seconds=1.0))
    y = resample(x, 44100, 20000)
    assert y.numel() == 20000
    assert abs(_peak_hz(y, 20000) - 3000) < 2


@pytest.mark.parametrize("bad", [0, -16000, 16000.5])
def test_resample_rejects_bad_rates(bad):
    with pytest.raises(AudioError, match="orig_sr"):
        resample(torch.zeros(10), bad, 20000)


def test_crop_or_pad_offsets():
    x = torch.arange(10.0)
    assert crop_or_pad(x, 4).tolist() == [0, 1, 2, 3]
    assert crop_or_pad(x, 4, offset="center").tolist() == [3, 4, 5, 6]
    assert crop_or_pad(x, 4, offset=6).tolist() == [6, 7, 8, 9]
    padded = crop_or_pad(x[:2], 6, offset="center")
    assert padded.tolist() == [0, 0, 0, 1, 0, 0]
    gen = torch.Generator().manual_seed(0)
    starts = {int(crop_or_pad(x, 4, offset="random", generator=gen)[0]) for _ in range(50)}
    assert starts == set(range(7))
    with pytest.raises(AudioError, match="offset"):
        crop_or_pad(x, 4, offset=7)
    with pytest.raises(AudioError, match="length"):
        crop_or_pad(x, 0)


def test_normalize_rms_demeans_and_scales_and_leaves_silence():
    x = torch.randn(3, 1000) * 5 + 2
    y = normalize_rms(x)
    torch.testing.assert_close(y.mean(-1), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.pow(2).mean(-1).sqrt(), torch.full((3,), 0.1))
    assert torch.equal(normalize_rms(torch.zeros(100)), torch.zeros(100))


def test_prepare_waveform_end_to_end():
    stereo = torch.from_numpy(np.stack([_tone(500, 16000, 1.0), _tone(500, 16000, 1.0)]))
    out = prepare_waveform(stereo, 16000, 20000, 40000, offset="center")
    assert out.shape == (40000,)
    assert out[:5000].abs().max() < 1e-3 < out[15000:25000].abs().max()
    assert math.isclose(float(out.pow(2).mean().sqrt()), 0.1, rel_tol=1e-4)
    with pytest.raises(AudioError, match=r"clip\.wav: waveform holds NaN"):
        prepare_waveform(torch.tensor([0.0, float("nan")]), 16000, 20000, 10, name="clip.wav")


def test_missing_file_error_names_it(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: no such audio file"):
        load_audio(tmp_path / "nope.wav")


def test_unreadable_file_error_names_it(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match=r"garbage\.wav: unreadable"):
        load_audio(path)


def test_truncated_file_error_names_it(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(440, 16000, 1.0), 16000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.wav: truncated"):
        load_audio(path)


def test_empty_file_error_names_it(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav: the file holds no audio"):
        load_audio(path)


def test_non_finite_samples_error_names_it(tmp_path):
    path = tmp_path / "nan.wav"
    data = _tone(440, 16000)
    data[100] = np.nan
    sf.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: the file holds NaN"):
        load_audio(path)


def test_truncated_compressed_file_error_names_it(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=r"cut\.flac: unreadable or truncated"):
        load_audio(path)
