"""Training augmentation: what each effect does to a signal, seeding, and its use in the data."""

import math

import numpy as np
import pytest
import soundfile as sf
import torch
from corpus_fixtures import write_esc50, write_nsynth, write_speech_commands

from topoaudio_zoo.data import (
    ESC50DataModule,
    NSynthDataModule,
    SpeechCommandsDataModule,
    WSNDataModule,
)
from topoaudio_zoo.data.augment import (
    Augment,
    augment_generator,
    formant_shift,
    room_impulse_response,
)

SR = 20000


def _tone(freq: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(seconds * SR)) / SR
    return torch.sin(2 * math.pi * freq * t)


def _peak_hz(x: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(x * torch.hann_window(x.shape[-1])).abs()
    return float(torch.fft.rfftfreq(x.shape[-1], 1 / SR)[spectrum.argmax()])


def _always(**options) -> Augment:
    return Augment(**options)


def test_room_impulse_response_decays_at_its_rt60_with_its_direct_to_reverberant_ratio():
    for rt60, drr in ((0.3, 0.0), (0.8, 6.0)):
        ir = room_impulse_response(SR, rt60, drr, torch.Generator().manual_seed(1))
        assert ir[0] > 0.9 and ir.shape[0] == int(1.2 * rt60 * SR)
        reverberant = ir.clone()
        reverberant[0] -= 1.0
        measured_drr = 10 * math.log10(1.0 / float(reverberant.pow(2).sum()))
        assert abs(measured_drr - drr) < 0.5
        # Schroeder backward integration: the -5 to -25 dB slope, extrapolated to -60 dB.
        tail = reverberant[int(0.06 * SR) :].double()
        edc = torch.flip(torch.cumsum(torch.flip(tail**2, [0]), 0), [0])
        edc_db = 10 * torch.log10(edc / edc[0])
        t5 = int(torch.nonzero(edc_db < -5)[0])
        t25 = int(torch.nonzero(edc_db < -25)[0])
        measured_rt60 = 3 * (t25 - t5) / SR
        assert abs(measured_rt60 - rt60) < 0.25 * rt60, (rt60, measured_rt60)


def test_reverberation_keeps_the_length_and_spreads_a_click_in_time():
    click = torch.zeros(SR)
    click[1000] = 1.0
    out = _always(p_reverb=1.0, rt60_s=(0.5, 0.5)).source(click, SR, torch.Generator())
    assert out.shape == click.shape
    assert float(out[1000:].pow(2).sum() - out[1000] ** 2) > 0.01
    assert float(out[:1000].abs().max()) < 1e-4  # causal


def test_telephone_band_removes_what_is_outside_300_to_3400_hz():
    noise = torch.randn(2 * SR, generator=torch.Generator().manual_seed(0))
    out = _always(p_band=1.0, bands=((300, 3400),)).channel(noise, SR, torch.Generator())
    power = torch.fft.rfft(out).abs() ** 2
    freqs = torch.fft.rfftfreq(out.shape[0], 1 / SR)
    inside = power[(freqs > 500) & (freqs < 3000)].mean()
    assert power[freqs > 4000].mean() < 1e-6 * inside
    assert power[freqs < 200].mean() < 1e-6 * inside


def test_speed_moves_every_frequency_and_the_duration_together():
    out = _always(p_speed=1.0, speed=(1.1, 1.1)).source(_tone(1000.0), SR, torch.Generator())
    assert abs(out.shape[0] - SR / 1.1) <= 2
    assert abs(_peak_hz(out) - 1100.0) < 5


def test_pitch_shift_keeps_the_duration():
    augment = _always(p_pitch=1.0, pitch_semitones=(2.0, 2.0))
    out = augment.source(_tone(1000.0), SR, torch.Generator())
    assert out.shape[0] == SR
    assert abs(_peak_hz(out) - 1000.0 * 2 ** (2 / 12)) < 10


def test_level_scales_and_the_defaults_change_nothing():
    x = torch.randn(1000)
    out = _always(level_db=(-6.0, -6.0)).channel(x, SR, torch.Generator())
    assert torch.allclose(out, x * 10 ** (-6 / 20))
    assert Augment.from_config(None) is None
    assert Augment.from_config({}) is None
    assert Augment.from_config({"p_reverb": 0.5}) == Augment(p_reverb=0.5)


def test_augmentation_is_a_function_of_the_example_seed():
    augment = Augment(p_speed=0.5, p_reverb=0.5, p_band=0.5, level_db=(-6, 6))
    x = torch.randn(SR, generator=torch.Generator().manual_seed(0))

    def run(seed):
        rng = augment_generator(torch.Generator().manual_seed(seed))
        return augment.channel(augment.source(x, SR, rng), SR, rng)

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))
    example = torch.Generator().manual_seed(7)
    state = example.get_state()
    augment_generator(example)
    assert torch.equal(example.get_state(), state)  # draws nothing from the example's generator


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="p_reverb"):
        Augment(p_reverb=2.0)
    with pytest.raises(ValueError, match="bands"):
        Augment(bands=((3400, 300),))
    with pytest.raises(ValueError, match="unknown options"):
        Augment.from_config({"reverb": 1.0})
    with pytest.raises(ValueError, match="rt60_s"):
        Augment(rt60_s=(0.5, 0.2))


@pytest.fixture(scope="module")
def wsn_roots(tmp_path_factory):
    root = tmp_path_factory.mktemp("aug")
    return write_speech_commands(root / "sc"), write_nsynth(root / "ns")


def _item(roots, augment, split="train", item=(3, 12345)):
    speech, background = roots
    dm = WSNDataModule(str(speech), str(background), augment=augment, return_parts=True)
    dm.setup("fit")
    return dm.dataset(split)[item if split == "train" else 3]


def test_wsn_augments_training_examples_reproducibly_and_leaves_other_draws_alone(wsn_roots):
    options = {"p_speed": 1.0, "p_reverb": 1.0, "p_band": 1.0, "level_db": [-3.0, -3.0]}
    plain = _item(wsn_roots, None)
    first, again = _item(wsn_roots, options), _item(wsn_roots, options)
    assert torch.equal(first["waveform"], again["waveform"])
    assert not torch.allclose(first["waveform"], plain["waveform"])
    assert (first["background_key"], first["snr_db"]) == (plain["background_key"], plain["snr_db"])
    rms = float(first["waveform"].pow(2).mean().sqrt())
    assert abs(20 * np.log10(rms / 0.1) + 3.0) < 0.5
    assert torch.allclose(first["speech"] + first["background"], first["waveform"], atol=1e-5)
    evaluation = _item(wsn_roots, options, split="val")
    assert torch.equal(evaluation["waveform"], _item(wsn_roots, None, split="val")["waveform"])


def _unbalanced_background_corpus(root):
    rows = ["clip,split,category,source,package,version,source_file,group,start_s,duration_s,"
            "licence,note"]  # fmt: skip
    counts = {"train": {"music": 8, "animal": 1}, "val": {"music": 1}, "test": {"music": 1}}
    for split, per_category in counts.items():
        for category, n in per_category.items():
            for i in range(n):
                clip = f"{split}/{category}/{i}.wav"
                (root / clip).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / clip, 0.1 * np.random.default_rng(i).standard_normal(SR), SR)
                rows.append(f"{clip},{split},{category},t,p,0,{clip},{clip},0,1,x,")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "COMPLETE").write_text("{}")
    return root


@pytest.mark.slow
def test_wsn_can_draw_backgrounds_with_balanced_classes(tmp_path):
    speech = write_speech_commands(tmp_path / "sc")
    background = _unbalanced_background_corpus(tmp_path / "bg")  # 8 music, 1 animal clips
    animal = {}
    for balance in (False, True):
        dm = WSNDataModule(
            str(speech),
            str(background),
            background_format="backgrounds",
            background_balance=balance,
        )
        dm.setup("fit")
        assert dm.tasks["background"] == ["music", "animal"]
        train = dm.dataset("train")
        labels = [train[(0, seed)]["targets"]["background"] for seed in range(400)]
        animal[balance] = float(np.mean(labels))
    assert abs(animal[False] - 1 / 9) < 0.06
    assert abs(animal[True] - 1 / 2) < 0.08


@pytest.mark.parametrize(
    ("module", "write"),
    [
        (SpeechCommandsDataModule, write_speech_commands),
        (NSynthDataModule, write_nsynth),
        (ESC50DataModule, write_esc50),
    ],
)
def test_every_datamodule_takes_the_augmentation_option_for_training_clips_only(
    tmp_path, module, write
):
    root = str(write(tmp_path / "data"))
    options = {"p_reverb": 1.0, "level_db": [-6.0, -6.0]}
    plain, augmented = module(root), module(root, augment=options, batch_size=4)
    assert augmented.batch_size == 4 and augmented.augment == Augment.from_config(options)
    for dm in (plain, augmented):
        dm.setup("fit")
    train_plain = plain.dataset("train")[(0, 7)]["waveform"]
    train_augmented = augmented.dataset("train")[(0, 7)]["waveform"]
    level_db = 20 * np.log10(float(train_augmented.pow(2).mean().sqrt()) / 0.1)
    assert abs(level_db + 6.0) < 0.5 and not torch.allclose(train_plain, train_augmented)
    assert torch.equal(augmented.dataset("train")[(0, 7)]["waveform"], train_augmented)
    for split in ("val", "test"):
        assert torch.equal(
            plain.dataset(split)[0]["waveform"], augmented.dataset(split)[0]["waveform"]
        )


def _vowel(f0: float = 120.0, formants=(1000.0, 2500.0), width: float = 150.0) -> torch.Tensor:
    """A 1-s harmonic complex at ``f0`` Hz shaped by resonances at ``formants`` Hz."""
    t = torch.arange(SR) / SR
    freqs = torch.arange(1, int(SR / 2 / f0)) * f0
    gains = sum(1 / (1 + ((freqs - f) / width) ** 2) for f in formants)
    return (gains[:, None] * torch.sin(2 * math.pi * freqs[:, None] * t)).sum(0)


def _centroid(x: torch.Tensor, low: float, high: float) -> float:
    """The power-weighted mean frequency (Hz) of ``x`` between ``low`` and ``high`` Hz."""
    power = torch.fft.rfft(x * torch.hann_window(x.shape[-1])).abs().square()
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / SR)
    band = (freqs > low) & (freqs < high)
    return float((power[band] * freqs[band]).sum() / power[band].sum())


def _lowest_harmonic_hz(x: torch.Tensor) -> float:
    spectrum = torch.fft.rfft(x * torch.hann_window(x.shape[-1])).abs()
    freqs = torch.fft.rfftfreq(x.shape[-1], 1 / SR)
    band = (freqs > 60) & (freqs < 200)
    return float(freqs[band][spectrum[band].argmax()])


def _moved(before: torch.Tensor, after: torch.Tensor, band: tuple[float, float]) -> float:
    """How far the centroid of ``band`` moved, as a fraction of a log-frequency ratio."""
    return math.log(_centroid(after, *band) / _centroid(before, *band))


def test_formant_shift_moves_the_envelope_and_keeps_pitch_and_duration():
    vowel = _vowel()
    same = formant_shift(vowel, SR, 1.0)
    assert torch.allclose(same, vowel, atol=1e-3 * float(vowel.abs().max()))
    for ratio in (0.85, 1.2):
        shifted = formant_shift(vowel, SR, ratio)
        assert shifted.shape == vowel.shape
        assert _lowest_harmonic_hz(shifted) == _lowest_harmonic_hz(vowel) == 120.0  # the pitch
        for band in ((500.0, 1700.0), (1900.0, 3300.0)):  # around the first and second formant
            # the envelope moves the right way, by half to 1.6 times the ratio (in log frequency)
            assert 0.5 < _moved(vowel, shifted, band) / math.log(ratio) < 1.6, (ratio, band)
    with pytest.raises(ValueError, match="ratio"):
        formant_shift(vowel, SR, 0.0)


def test_formant_augmentation_is_drawn_only_when_asked():
    vowel = _vowel()
    options = Augment(p_formant=1.0, formant_ratio=(1.2, 1.2))
    out = options.source(vowel, SR, torch.Generator().manual_seed(0))
    assert 0.5 < _moved(vowel, out, (500.0, 1700.0)) / math.log(1.2) < 1.6
    assert Augment(p_formant=1.0).active and not Augment().active
    with pytest.raises(ValueError, match="formant_ratio"):
        Augment(formant_ratio=(0.0, 1.0))
