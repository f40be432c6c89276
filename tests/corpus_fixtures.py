"""Writers of tiny corpora in the real Speech Commands, NSynth and ESC-50 layouts (tests only).

Shared by the DataModule, training, fine-tuning, DDP and resume tests; the DDP and resume tests
also call them from their subprocess helpers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

__all__ = [
    "ESC_CATEGORIES",
    "NSYNTH_INSTRUMENTS",
    "PITCHES",
    "SC_SPEAKERS",
    "SC_WORDS",
    "write_esc50",
    "write_nsynth",
    "write_speech_commands",
    "write_tone",
]


def write_tone(path: Path, seconds: float, sr: int, seed: int, channels: int = 1) -> np.ndarray:
    """A noisy tone (int16 WAV, or FLAC by suffix); returns the float samples written."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * (150 + 40 * (seed % 17)) * t) + 0.05 * rng.standard_normal(t.size)
    if channels > 1:
        x = np.stack([x * (c + 1) / channels for c in range(channels)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, subtype="PCM_16")
    return x


# Speech Commands: 5 words × 6 speakers × 2 takes; speakers 0–3 train, 4 val, 5 test.
SC_WORDS = ["cat", "dog", "no", "up", "yes"]
SC_SPEAKERS = [f"{i:02x}c0ffee" for i in range(6)]


def write_speech_commands(root: Path) -> Path:
    """60 clips (one stereo, one at 22.05 kHz, the rest 16 kHz mono), split lists, noise."""
    seed = 0
    val, test = [], []
    for w in SC_WORDS:
        for s, speaker in enumerate(SC_SPEAKERS):
            for n in range(2):
                rel = f"{w}/{speaker}_nohash_{n}.wav"
                seed += 1
                if rel == "dog/00c0ffee_nohash_1.wav":
                    write_tone(root / rel, 1.0, 16000, seed, channels=2)
                elif rel == "cat/01c0ffee_nohash_0.wav":
                    write_tone(root / rel, 1.0, 22050, seed)
                else:
                    write_tone(root / rel, 0.9 if n else 1.0, 16000, seed)
                (val if s == 4 else test if s == 5 else []).append(rel)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    for i in range(2):
        write_tone(root / "_background_noise_" / f"noise_{i}.wav", 3.0, 16000, 100 + i)
    (root / "_background_noise_" / "README.md").write_text("noise")
    return root


# NSynth: train has bass, guitar, synth_lead; valid/test only bass and guitar.
NSYNTH_INSTRUMENTS = {
    "train": [("bass_electronic_000", 0, "bass"), ("guitar_acoustic_001", 3, "guitar"),
              ("synth_lead_synthetic_002", 9, "synth_lead")],
    "valid": [("bass_synthetic_010", 0, "bass"), ("guitar_electronic_011", 3, "guitar")],
    "test": [("bass_acoustic_020", 0, "bass"), ("guitar_synthetic_021", 3, "guitar")],
}  # fmt: skip
PITCHES = [60, 64, 67]


def write_nsynth(root: Path, seconds: float = 4.0) -> Path:
    """Three notes per instrument of :data:`NSYNTH_INSTRUMENTS`, 16 kHz, with examples.json."""
    seed = 0
    for split, instruments in NSYNTH_INSTRUMENTS.items():
        examples = {}
        for number, (instrument, family, family_str) in enumerate(instruments):
            for pitch in PITCHES:
                seed += 1
                note_str = f"{instrument}-{pitch:03d}-100"
                audio = root / f"nsynth-{split}" / "audio" / f"{note_str}.wav"
                write_tone(audio, seconds, 16000, seed)
                examples[note_str] = {
                    "note": seed,
                    "note_str": note_str,
                    "instrument": number,
                    "instrument_str": instrument,
                    "pitch": pitch,
                    "velocity": 100,
                    "sample_rate": 16000,
                    "qualities": [0] * 10,
                    "qualities_str": [],
                    "instrument_family": family,
                    "instrument_family_str": family_str,
                    "instrument_source": 0,
                    "instrument_source_str": instrument.split("_")[-2],
                }
        (root / f"nsynth-{split}" / "examples.json").write_text(json.dumps(examples))
    return root


# ESC-50: 5 folds × 2 categories × 2 takes of one source recording.
ESC_CATEGORIES = ["dog", "rain"]


def write_esc50(root: Path, seconds: float = 5.0) -> Path:
    """20 clips at 44.1 kHz under ``root/ESC-50-master`` with ``meta/esc50.csv``."""
    audio = root / "ESC-50-master" / "audio"
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    seed = 0
    for fold in range(1, 6):
        for target, category in enumerate(ESC_CATEGORIES):
            source = 1000 * fold + target
            for take in "AB":
                seed += 1
                name = f"{fold}-{source}-{take}-{target}.wav"
                write_tone(audio / name, seconds, 44100, seed)
                lines.append(f"{name},{fold},{target},{category},False,{source},{take}")
    meta = root / "ESC-50-master" / "meta"
    meta.mkdir(parents=True)
    (meta / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root
