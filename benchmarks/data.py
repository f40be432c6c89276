"""Throughput of each DataModule's training loader (clips per second), from files and from cache.

Writes synthetic corpora (noisy tones, int16 WAV) in the real layouts into a temporary folder:
Speech Commands (1-s clips at 16 kHz), NSynth (4-s notes at 16 kHz), ESC-50 (5-s clips at
44.1 kHz), an audio folder (3-s clips at 44.1 kHz), a background corpus in the layout of
``make-corpus backgrounds`` (4-s clips at 20 kHz, 8 categories) and Word-Speaker-Noise (Speech
Commands + NSynth; Speech Commands + the background corpus, without and with the augmentation
of the ``configs/cpu/wsn-augmented.yaml`` recipe). Each training loader (2 workers by default,
batches of 32 clips of 2 s at 20 kHz) is timed over ``--batches`` batches after one warm-up
batch (worker start-up excluded), without and with ``cache_dir`` (cache build time printed
separately); the last column is the process CPU time per training example built from the cache
in one process (:func:`cpu_ms_per_clip`), which a busy machine inflates far less.

    python benchmarks/data.py [--workers 2] [--batch-size 32] [--batches 40] [--only WSN]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from topoaudio_zoo.data import (
    AudioFolderDataModule,
    ESC50DataModule,
    NSynthDataModule,
    SpeechCommandsDataModule,
    WSNDataModule,
)
from topoaudio_zoo.data.base import AudioDataModule
from topoaudio_zoo.data.corpora import CATEGORIES

# The augmentation of configs/cpu/wsn-augmented.yaml.
AUGMENT = {
    "p_speed": 0.5,
    "speed": [0.9, 1.1],
    "p_reverb": 0.5,
    "rt60_s": [0.2, 1.0],
    "p_band": 0.3,
    "level_db": [-6.0, 6.0],
}

WORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "cat", "dog"]
FAMILIES = ["bass", "brass", "flute", "guitar", "keyboard", "mallet", "organ", "reed", "string"]


def tone(path: Path, seconds: float, sr: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + 0.05 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, sr, subtype="PCM_16")


def speech_commands(root: Path, speakers: int = 60) -> Path:
    val, test = [], []
    for w, word in enumerate(WORDS):
        for s in range(speakers):
            rel = f"{word}/{s:08x}_nohash_0.wav"
            tone(root / rel, 1.0, 16000, w * 1000 + s)
            (val if s % 10 == 8 else test if s % 10 == 9 else []).append(rel)
    (root / "validation_list.txt").write_text("\n".join(val) + "\n")
    (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    tone(root / "_background_noise_" / "noise.wav", 30.0, 16000, 7)
    return root


def nsynth(root: Path, notes: int = 24) -> Path:
    for split, offset in (("train", 0), ("valid", 100), ("test", 200)):
        examples = {}
        for f, family in enumerate(FAMILIES):
            instrument = f"{family}_acoustic_{offset + f:03d}"
            for p in range(notes if split == "train" else 4):
                note_str = f"{instrument}-{40 + p:03d}-100"
                tone(root / f"nsynth-{split}" / "audio" / f"{note_str}.wav", 4.0, 16000, p)
                examples[note_str] = {
                    "note_str": note_str,
                    "pitch": 40 + p,
                    "instrument_family": f,
                    "instrument_family_str": family,
                }
        (root / f"nsynth-{split}" / "examples.json").write_text(json.dumps(examples))
    return root


def esc50(root: Path, per_fold: int = 40) -> Path:
    lines = ["filename,fold,target,category,esc10,src_file,take"]
    for fold in range(1, 6):
        for i in range(per_fold):
            target = i % 10
            name = f"{fold}-{fold * 1000 + i}-A-{target}.wav"
            tone(root / "ESC-50-master" / "audio" / name, 5.0, 44100, fold * 100 + i)
            lines.append(f"{name},{fold},{target},class{target},False,{fold * 1000 + i},A")
    (root / "ESC-50-master" / "meta").mkdir(parents=True)
    (root / "ESC-50-master" / "meta" / "esc50.csv").write_text("\n".join(lines) + "\n")
    return root


def audio_folder(root: Path, per_class: int = 40) -> Path:
    for c in range(5):
        for i in range(per_class):
            tone(root / f"class{c}" / f"{i}.wav", 3.0, 44100, c * 100 + i)
    return root


def background_corpus(root: Path, per_category: int = 20) -> Path:
    rows = ["clip,split,category,source,package,version,source_file,group,start_s,duration_s,"
            "licence,note"]  # fmt: skip
    for c, category in enumerate(CATEGORIES):
        for i in range(per_category):
            split = "val" if i == 0 else "test" if i == 1 else "train"
            clip = f"{split}/{category}/{i}.wav"
            tone(root / clip, 4.0, 20000, 100 * c + i)
            rows.append(f"{clip},{split},{category},bench,none,0,{clip},{i},0,4,none,")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "COMPLETE").write_text("{}")
    return root


def clips_per_second(dm: AudioDataModule, batches: int) -> float:
    """Training clips per second over ``batches`` batches (epochs restart as needed)."""
    dm.setup("fit")
    loader = dm.train_dataloader()
    batch_iter = iter(loader)
    next(batch_iter)
    start = time.perf_counter()
    count = 0
    while count < batches * dm.batch_size:
        try:
            count += len(next(batch_iter)["key"])
        except StopIteration:
            batch_iter = iter(loader)
    return count / (time.perf_counter() - start)


def cpu_ms_per_clip(dm: AudioDataModule, clips: int = 200) -> float:
    """Process CPU time (ms) per training example built in this process (no workers): a
    measure that a busy machine inflates far less than wall-clock throughput."""
    dm.setup("fit")
    dataset = dm.dataset("train")
    start = time.process_time()
    for k in range(clips):
        dataset[(k % len(dataset), k)]
    return 1000 * (time.process_time() - start) / clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--only", default="", help="time only the DataModules whose name has this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        roots = {
            "sc": speech_commands(tmp / "sc"),
            "nsynth": nsynth(tmp / "nsynth"),
            "esc50": esc50(tmp / "esc50"),
            "folder": audio_folder(tmp / "folder"),
            "backgrounds": background_corpus(tmp / "backgrounds"),
        }
        print(f"corpora written in {time.perf_counter() - start:.1f} s")
        makers: dict[str, Callable[..., AudioDataModule]] = {
            "SpeechCommands v2-35": lambda **k: SpeechCommandsDataModule(str(roots["sc"]), **k),
            "SpeechCommands v2-12": lambda **k: SpeechCommandsDataModule(
                str(roots["sc"]), protocol="v2-12", **k
            ),
            "NSynth": lambda **k: NSynthDataModule(str(roots["nsynth"]), **k),
            "ESC-50": lambda **k: ESC50DataModule(str(roots["esc50"]), **k),
            "AudioFolder": lambda **k: AudioFolderDataModule(str(roots["folder"]), **k),
            "WSN (SC + NSynth)": lambda **k: WSNDataModule(
                str(roots["sc"]), str(roots["nsynth"]), **k
            ),
            "WSN (SC + backgrounds)": lambda **k: WSNDataModule(
                str(roots["sc"]), str(roots["backgrounds"]), background_format="backgrounds", **k
            ),
            "WSN + augment": lambda **k: WSNDataModule(
                str(roots["sc"]),
                str(roots["backgrounds"]),
                background_format="backgrounds",
                augment=AUGMENT,
                **k,
            ),
        }
        common = {"batch_size": args.batch_size, "num_workers": args.workers}
        print(f"train loader, {args.workers} workers, batches of {args.batch_size} × 2 s @ 20 kHz")
        header = ("DataModule", "files clips/s", "cache clips/s", "cache build", "CPU ms/clip")
        print(
            f"{header[0]:24s} {header[1]:>14s} {header[2]:>14s} {header[3]:>12s} {header[4]:>12s}"
        )
        for name, make in makers.items():
            if args.only not in name:
                continue
            plain = clips_per_second(make(**common), args.batches)
            dm = make(cache_dir=str(tmp / "cache" / name.split()[0]), **common)
            start = time.perf_counter()
            dm.prepare_data()
            build = time.perf_counter() - start
            cached = clips_per_second(dm, args.batches)
            cpu = cpu_ms_per_clip(make(cache_dir=str(tmp / "cache" / name.split()[0])))
            print(f"{name:24s} {plain:14.0f} {cached:14.0f} {build:10.1f} s {cpu:12.2f}")


if __name__ == "__main__":
    main()
