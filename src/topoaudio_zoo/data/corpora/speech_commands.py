"""A Speech Commands v0.02 stand-in spoken by espeak-ng, in the real on-disk layout.

Layout (as the v0.02 release)::

    OUT/<word>/<speaker>_nohash_<n>.wav   16 kHz mono 16-bit PCM, 1 s (16 000 samples)
    OUT/validation_list.txt                relative paths, e.g. ``right/bb05582b_nohash_0.wav``
    OUT/testing_list.txt
    OUT/_background_noise_/*.wav, README.md
    OUT/README.md, OUT/LICENSE

Training is every clip in neither list. A *speaker* is one espeak-ng voice setting: an English
accent × a voice variant × a rate (words per minute) × a pitch; its id is the first 8 hex
digits of the SHA-1 of ``"<accent>+<variant>|s<rate>|p<pitch>"``, so a setting always gets the
same id. Splits follow the official ``which_set`` rule on that id, so they are
speaker-disjoint.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...audio import resample
from .espeak import english_accents, espeak_version, speak, voice_variants
from .noise import write_noises
from .parallel import default_jobs, map_jobs
from .summary import CorpusSummary
from .wav import write_pcm16

__all__ = [
    "PITCHES",
    "RATES",
    "SPEECH_COMMANDS_WORDS",
    "Speaker",
    "render_speech_commands",
    "which_set",
]

SPEECH_COMMANDS_WORDS = (
    "yes",
    "no",
    "up",
    "down",
    "left",
    "right",
    "on",
    "off",
    "stop",
    "go",
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "bed",
    "bird",
    "cat",
    "dog",
    "happy",
    "house",
    "marvin",
    "sheila",
    "tree",
    "wow",
    "backward",
    "forward",
    "follow",
    "learn",
    "visual",
)

SAMPLE_RATE = 16000  # Hz
CLIP_SAMPLES = 16000  # 1 s
RATES = (140, 155, 170, 185, 200, 215, 230)  # espeak-ng -s, words per minute
PITCHES = (20, 30, 40, 50, 60, 70, 80)  # espeak-ng -p, 0-99
TAKE_RATE_JITTER = 8  # ± words per minute for takes after the first
TAKE_PITCH_JITTER = 4  # ± pitch units for takes after the first
PEAK_DBFS = (-12.0, -2.0)  # each clip's peak level, drawn uniformly, in dB re full scale
TRIM_DB = 40.0  # espeak's silence: 10 ms frames more than this below the loudest frame
VALIDATION_PERCENT = 10.0
TESTING_PERCENT = 10.0

DEFAULTS = {"voices": 600, "takes": 1, "words": SPEECH_COMMANDS_WORDS}
SMALL = {"voices": 24, "takes": 2, "words": SPEECH_COMMANDS_WORDS[:6]}

# The constant of the official rule: 2**27 - 1 (~134 M), the most files a class may hold.
MAX_NUM_WAVS_PER_CLASS = 2**27 - 1


def which_set(
    filename: str,
    validation_percentage: float = VALIDATION_PERCENT,
    testing_percentage: float = TESTING_PERCENT,
) -> str:
    """The split of a Speech Commands file by the rule of the dataset's README (v0.02).

    The speaker part of the base name (everything before ``_nohash_``) is hashed with SHA-1;
    the hash modulo ``2**27`` scaled to 0–100 (× 100 / (2**27 − 1)) is a percentage: below
    ``validation_percentage`` → ``"validation"``, below the sum of both → ``"testing"``, else
    ``"training"``. All clips of a speaker therefore share a split.
    """
    base_name = Path(filename).name
    hash_name = re.sub(r"_nohash_.*$", "", base_name)
    hashed = int(hashlib.sha1(hash_name.encode("utf-8")).hexdigest(), 16)
    percentage = (hashed % (MAX_NUM_WAVS_PER_CLASS + 1)) * (100.0 / MAX_NUM_WAVS_PER_CLASS)
    if percentage < validation_percentage:
        return "validation"
    if percentage < validation_percentage + testing_percentage:
        return "testing"
    return "training"


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: espeak-ng accent file, variant name, rate (words per minute) and
    pitch (0–99)."""

    accent: str
    variant: str
    rate: int
    pitch: int

    @property
    def key(self) -> str:
        return f"{self.accent}+{self.variant}|s{self.rate}|p{self.pitch}"

    @property
    def speaker_id(self) -> str:
        """8 hex digits, like the v0.02 speaker hashes (``0a7c2a8d``)."""
        return hashlib.sha1(self.key.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class _Clip:
    out: Path
    word: str
    speaker: Speaker
    take: int
    seed: int

    @property
    def relpath(self) -> str:
        return f"{self.word}/{self.speaker.speaker_id}_nohash_{self.take}.wav"


def _clip_rng(seed: int, key: str) -> np.random.Generator:
    digest = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:15], 16)
    return np.random.default_rng([seed, digest])


def choose_speakers(
    accents: list[str], variants: list[str], count: int, seed: int
) -> list[Speaker]:
    """``count`` distinct speakers drawn (seeded) from accents × variants × RATES × PITCHES,
    sorted by id; settings whose 8-digit id collides with an earlier one are skipped."""
    grid = len(accents) * len(variants) * len(RATES) * len(PITCHES)
    if count > grid:
        raise ValueError(
            f"voices: {count} speakers requested, but this espeak-ng offers {grid} "
            f"({len(accents)} accents × {len(variants)} variants × {len(RATES)} rates × "
            f"{len(PITCHES)} pitches)"
        )
    speakers: dict[str, Speaker] = {}
    for index in np.random.default_rng(seed).permutation(grid):
        rest, p = divmod(int(index), len(PITCHES))
        rest, r = divmod(rest, len(RATES))
        a, v = divmod(rest, len(variants))
        speaker = Speaker(accents[a], variants[v], RATES[r], PITCHES[p])
        speakers.setdefault(speaker.speaker_id, speaker)
        if len(speakers) == count:
            break
    return sorted(speakers.values(), key=lambda s: s.speaker_id)


def trim_silence(samples: np.ndarray, sr: int, threshold_db: float = TRIM_DB) -> np.ndarray:
    """Cut leading and trailing 10 ms frames whose RMS is more than ``threshold_db`` below the
    loudest frame's."""
    hop = max(1, sr // 100)
    frames = len(samples) // hop
    if frames == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: frames * hop].reshape(frames, hop) ** 2, axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-threshold_db / 20))
    if loud.size == 0:
        return samples[:0]
    return samples[loud[0] * hop : min(len(samples), (loud[-1] + 1) * hop)]


def _render_clip(clip: _Clip) -> tuple[str, bool]:
    """Speak, resample to 16 kHz, trim, level and centre one clip; write it. Returns the
    relative path and whether the word had to be cropped to fit 1 s."""
    rng = _clip_rng(clip.seed, f"{clip.speaker.key}|{clip.word}|{clip.take}")
    rate, pitch = clip.speaker.rate, clip.speaker.pitch
    if clip.take > 0:
        rate += int(rng.integers(-TAKE_RATE_JITTER, TAKE_RATE_JITTER + 1))
        pitch = int(np.clip(pitch + rng.integers(-TAKE_PITCH_JITTER, TAKE_PITCH_JITTER + 1), 0, 99))
    samples, sr = speak(clip.word, f"{clip.speaker.accent}+{clip.speaker.variant}", rate, pitch)
    audio = resample(torch.from_numpy(samples), sr, SAMPLE_RATE).numpy().astype(np.float64)
    audio = trim_silence(audio, SAMPLE_RATE)
    peak = np.abs(audio).max() if audio.size else 0.0
    if peak <= 0:
        raise RuntimeError(f"espeak-ng produced silence for {clip.relpath} ({clip.speaker.key})")
    audio *= 10 ** (rng.uniform(*PEAK_DBFS) / 20) / peak
    cropped = len(audio) > CLIP_SAMPLES
    if cropped:
        start = (len(audio) - CLIP_SAMPLES) // 2
        audio = audio[start : start + CLIP_SAMPLES]
    clip_audio = np.zeros(CLIP_SAMPLES)
    start = (CLIP_SAMPLES - len(audio)) // 2
    clip_audio[start : start + len(audio)] = audio
    path = clip.out / clip.relpath
    write_pcm16(path, clip_audio, SAMPLE_RATE)
    return clip.relpath, cropped


def _check_words(words: list[str]) -> list[str]:
    if not words:
        raise ValueError("words: expected at least one word")
    for word in words:
        if not re.fullmatch(r"[a-z]+", word):
            raise ValueError(f"words: {word!r} is not a lowercase word (letters a-z only)")
    if len(set(words)) != len(words):
        raise ValueError("words: a word is listed twice")
    return list(words)


def _check_out(out: Path) -> Path:
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"out: {out} exists and is not an empty directory")
    return out


README = """# Synthetic Speech Commands (v0.02 layout)

Rendered offline by topoaudio-zoo (`topoaudio-zoo make-corpus speech-commands`) with
espeak-ng {version}, seed {seed}. It is NOT the Speech Commands dataset: every clip is
synthetic speech; the layout, file naming and split rule are those of v0.02, so the same
loaders read both.

- {clips} clips: {n_words} words × {n_speakers} speakers × {takes} take(s),
  16 kHz mono 16-bit PCM, 1 s, the word centred (espeak-ng's silences trimmed, peak level
  drawn in {peak_lo:g}…{peak_hi:g} dBFS).
- A speaker is an espeak-ng setting: English accent × voice variant × rate × pitch. Its id
  is the first 8 hex digits of SHA-1("<accent>+<variant>|s<rate>|p<pitch>"); `speakers.tsv`
  lists them. Takes after the first (`_nohash_1`, ...) vary the rate by up to ±{rj} words
  per minute and the pitch by up to ±{pj}.
- Accents: {accents}.
- Variants ({n_variants}): {variants}.
- Rates (words per minute): {rates}; pitches: {pitches}.
- `validation_list.txt` / `testing_list.txt`: the official `which_set` rule (SHA-1 of the
  speaker id, {val:g} % validation, {test:g} % testing); training is every other clip.
  Counts: training {n_train}, validation {n_val}, testing {n_test}.
- `_background_noise_/`: synthetic noises (see its README.md).
"""

LICENSE = """This corpus was generated by topoaudio-zoo from the espeak-ng speech synthesiser and
numpy noise generators. It contains no recordings of people and no part of the Speech
Commands dataset. espeak-ng's licence (GPL-3.0-or-later) covers the program, not the speech
it outputs.
"""


def render_speech_commands(
    out: str | Path,
    voices: int | None = None,
    words: list[str] | None = None,
    takes: int | None = None,
    small: bool = False,
    seed: int = 0,
    jobs: int | None = None,
) -> CorpusSummary:
    """Render a Speech Commands v0.02-format corpus with espeak-ng (layout: module docstring).

    Args:
        out: the corpus root; created, and must be absent or empty.
        voices: number of speakers (default 600; 24 with ``small``).
        words: the words (default the 35 of v0.02; their first 6 with ``small``).
        takes: clips per speaker and word, ``_nohash_0`` … (default 1; 2 with ``small``).
        small: a tiny corpus for tests (the defaults above).
        seed: non-negative random seed; the same seed gives byte-identical files and lists.
        jobs: worker processes (default: the usable CPU cores).

    Returns:
        A :class:`CorpusSummary` with clips per split and the wall-clock seconds.

    Raises:
        ValueError: naming the bad argument.
        MissingBinaryError: when espeak-ng is not installed.
    """
    start_time = time.perf_counter()
    preset = SMALL if small else DEFAULTS
    voices = preset["voices"] if voices is None else voices
    takes = preset["takes"] if takes is None else takes
    words = _check_words(list(preset["words"] if words is None else words))
    jobs = default_jobs() if jobs is None else jobs
    for name, value in (("voices", voices), ("takes", takes), ("jobs", jobs)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed}")
    out = _check_out(out)

    accents = [v.file for v in english_accents()]
    variants = [v.file for v in voice_variants()]
    speakers = choose_speakers(accents, variants, voices, seed)
    for word in words:
        (out / word).mkdir(parents=True, exist_ok=True)
    clips = [
        _Clip(out, word, speaker, take, seed)
        for word in words
        for speaker in speakers
        for take in range(takes)
    ]
    results = map_jobs(_render_clip, clips, jobs, desc="speech-commands", unit="clip")
    relpaths = sorted(path for path, _ in results)
    splits: dict[str, list[str]] = {"training": [], "validation": [], "testing": []}
    for relpath in relpaths:
        splits[which_set(relpath)].append(relpath)
    for split in ("validation", "testing"):
        (out / f"{split}_list.txt").write_text("".join(f"{p}\n" for p in splits[split]))
    write_noises(out / "_background_noise_", seed)
    (out / "speakers.tsv").write_text(
        "speaker\taccent\tvariant\trate\tpitch\tsplit\n"
        + "".join(
            f"{s.speaker_id}\t{s.accent}\t{s.variant}\t{s.rate}\t{s.pitch}\t"
            f"{which_set(s.speaker_id + '_nohash_0.wav')}\n"
            for s in speakers
        )
    )
    counts = {split: len(paths) for split, paths in splits.items()}
    (out / "README.md").write_text(
        README.format(
            version=espeak_version(),
            seed=seed,
            clips=len(relpaths),
            n_words=len(words),
            n_speakers=len(speakers),
            takes=takes,
            peak_lo=PEAK_DBFS[0],
            peak_hi=PEAK_DBFS[1],
            rj=TAKE_RATE_JITTER,
            pj=TAKE_PITCH_JITTER,
            accents=", ".join(accents),
            n_variants=len(variants),
            variants=", ".join(variants),
            rates=", ".join(map(str, RATES)),
            pitches=", ".join(map(str, PITCHES)),
            val=VALIDATION_PERCENT,
            test=TESTING_PERCENT,
            n_train=counts["training"],
            n_val=counts["validation"],
            n_test=counts["testing"],
        )
    )
    (out / "LICENSE").write_text(LICENSE)
    return CorpusSummary(
        out=out,
        split_counts=counts,
        seconds=time.perf_counter() - start_time,
        details={
            "words": len(words),
            "speakers": len(speakers),
            "takes": takes,
            "cropped": sum(cropped for _, cropped in results),
            "espeak_ng": espeak_version(),
        },
    )
