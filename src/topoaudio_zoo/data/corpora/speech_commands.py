"""A Speech Commands v0.02 stand-in spoken by espeak-ng, Flite and Festival, in the real layout.

Layout (as the v0.02 release)::

    OUT/<word>/<speaker>_nohash_<n>.wav   16 kHz mono 16-bit PCM, 1 s (16 000 samples)
    OUT/validation_list.txt                relative paths, e.g. ``right/bb05582b_nohash_0.wav``
    OUT/testing_list.txt
    OUT/_background_noise_/*.wav, README.md
    OUT/README.md, OUT/LICENSE

Training is every clip in neither list. A *speaker* is engine × voice × variant. For espeak-ng:
an English accent × a voice variant × a rate (words per minute) × a pitch; its id is the first
8 hex digits of the SHA-1 of ``"<accent>+<variant>|s<rate>|p<pitch>"``. For Flite and Festival
(:mod:`.engines`): a voice × a duration stretch × a speed factor, id from
``"<engine>:<voice>|d<stretch>|v<speed>"``. A setting always gets the same id. Splits follow the
official ``which_set`` rule on that id, so they are speaker-disjoint; the clips of the held-out
voices (``heldout_voices``, default Flite ``rms`` and Festival ``ked_diphone``; a bare engine
name holds out every voice of that engine) all go to ``testing_list.txt`` and are also listed
in ``generalization_list.txt``: a test of voices (and for Festival's diphones, a
voice-building method) or of a whole engine never heard in training. ``speakers.tsv`` gives
each speaker's engine, voice, variant and split. With ``relist`` the lists of an already
rendered corpus are rewritten for other held-out voices, without rendering anything.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...atomic import atomic_path, atomic_write_text
from ...audio import resample
from ..augment import speed_rate
from .engines import (
    ENGINES,
    FESTIVAL_VOICES,
    FLITE_VOICES,
    EngineSpeaker,
    check_engine,
    engine_version,
    synthesize,
)
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

STRETCHES = (0.8, 0.9, 1.0, 1.1, 1.2)  # Flite/Festival duration stretch (1.2: 20 % slower)
SPEEDS = (0.88, 0.94, 1.0, 1.06, 1.12)  # speed factor applied after synthesis
TAKE_STRETCH_JITTER = 0.05  # relative, for takes after the first
TAKE_SPEED_JITTER = 0.02
ALL_ENGINES = ("espeak-ng", *ENGINES)
DEFAULT_ENGINES = ("espeak-ng",)  # the corpus the shipped models were trained on
ENGINE_VOICES = {"flite": tuple(FLITE_VOICES), "festival": tuple(FESTIVAL_VOICES)}
HELDOUT_VOICES = ("flite:rms", "festival:ked_diphone")

DEFAULTS = {"voices": 600, "takes": 1, "words": SPEECH_COMMANDS_WORDS, "variants": None}
SMALL = {"voices": 24, "takes": 2, "words": SPEECH_COMMANDS_WORDS[:6], "variants": 1}

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
    speaker: Speaker | EngineSpeaker
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


def _finish(clip: _Clip, samples: np.ndarray, sr: int, rng: np.random.Generator) -> bool:
    """Resample to 16 kHz, trim, level and centre one clip; write it. Returns whether the word
    had to be cropped to fit 1 s."""
    audio = resample(torch.from_numpy(samples), sr, SAMPLE_RATE).numpy().astype(np.float64)
    audio = trim_silence(audio, SAMPLE_RATE)
    peak = np.abs(audio).max() if audio.size else 0.0
    if peak <= 0:
        raise RuntimeError(f"the engine produced silence for {clip.relpath} ({clip.speaker.key})")
    audio *= 10 ** (rng.uniform(*PEAK_DBFS) / 20) / peak
    cropped = len(audio) > CLIP_SAMPLES
    if cropped:
        start = (len(audio) - CLIP_SAMPLES) // 2
        audio = audio[start : start + CLIP_SAMPLES]
    clip_audio = np.zeros(CLIP_SAMPLES)
    start = (CLIP_SAMPLES - len(audio)) // 2
    clip_audio[start : start + len(audio)] = audio
    with atomic_path(clip.out / clip.relpath, suffix=".wav") as tmp:
        write_pcm16(tmp, clip_audio, SAMPLE_RATE)
    return cropped


def _render_espeak(clip: _Clip) -> tuple[str, bool]:
    rng = _clip_rng(clip.seed, f"{clip.speaker.key}|{clip.word}|{clip.take}")
    rate, pitch = clip.speaker.rate, clip.speaker.pitch
    if clip.take > 0:
        rate += int(rng.integers(-TAKE_RATE_JITTER, TAKE_RATE_JITTER + 1))
        pitch = int(np.clip(pitch + rng.integers(-TAKE_PITCH_JITTER, TAKE_PITCH_JITTER + 1), 0, 99))
    samples, sr = speak(clip.word, f"{clip.speaker.accent}+{clip.speaker.variant}", rate, pitch)
    return clip.relpath, _finish(clip, samples, sr, rng)


def _render_group(clips: tuple[_Clip, ...]) -> list[tuple[str, bool]]:
    """Render the clips of one speaker (espeak-ng: one clip per group; Flite and Festival: all
    of a speaker's clips, Festival in one process). Returns ``(relpath, cropped)`` per clip."""
    speaker = clips[0].speaker
    if isinstance(speaker, Speaker):
        return [_render_espeak(clip) for clip in clips]
    rngs, items, speeds = [], [], []
    for clip in clips:
        rng = _clip_rng(clip.seed, f"{speaker.key}|{clip.word}|{clip.take}")
        stretch, speed = speaker.stretch, speaker.speed
        if clip.take > 0:
            stretch *= 1 + rng.uniform(-TAKE_STRETCH_JITTER, TAKE_STRETCH_JITTER)
            speed *= 1 + rng.uniform(-TAKE_SPEED_JITTER, TAKE_SPEED_JITTER)
        rngs.append(rng)
        items.append((clip.word, round(stretch, 4)))
        speeds.append(speed)
    spoken = synthesize(speaker, items)
    results = []
    for clip, rng, speed, (samples, sr) in zip(clips, rngs, speeds, spoken, strict=True):
        # Declaring the samples to be at sr × speed makes them play `speed` times faster.
        results.append((clip.relpath, _finish(clip, samples, speed_rate(sr, speed), rng)))
    return results


def engine_speakers(engine: str, voices: tuple[str, ...], variants: int | None, seed: int):
    """Flite or Festival speakers: each voice × ``variants`` (stretch, speed) pairs drawn
    (seeded) from :data:`STRETCHES` × :data:`SPEEDS` (all 25 with ``None``; with 1, the voice's
    own: stretch 1, speed 1)."""
    grid = [(d, v) for d in STRETCHES for v in SPEEDS]
    speakers = []
    for voice in voices:
        if variants == 1:
            chosen = [(1.0, 1.0)]
        else:
            order = _clip_rng(seed, f"variants|{engine}|{voice}").permutation(len(grid))
            chosen = [grid[k] for k in sorted(order[:variants])]
        speakers += [EngineSpeaker(engine, voice, d, v) for d, v in chosen]
    return speakers


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
{versions}, seed {seed}. It is NOT the Speech Commands dataset: every clip is synthetic
speech; the layout, file naming and split rule are those of v0.02, so the same loaders read
both.

- {clips} clips: {n_words} words × {n_speakers} speakers ({per_engine}) × {takes} take(s),
  16 kHz mono 16-bit PCM, 1 s, the word centred (the engine's silences trimmed, peak level
  drawn in {peak_lo:g}…{peak_hi:g} dBFS).
- A speaker is engine × voice × variant; its id is the first 8 hex digits of the SHA-1 of its
  setting; `speakers.tsv` lists them.
- espeak-ng: English accent × voice variant × rate × pitch, the setting
  "<accent>+<variant>|s<rate>|p<pitch>". Takes after the first vary the rate by up to ±{rj}
  words per minute and the pitch by up to ±{pj}. Accents: {accents}. Variants
  ({n_variants}): {variants}. Rates (words per minute): {rates}; pitches: {pitches}.
- Flite voices: {flite}. Festival voices: {festival}. Variants: duration stretch
  ({stretches}) × speed factor ({speeds}; the waveform resampled to play that much faster),
  the setting "<engine>:<voice>|d<stretch>|v<speed>". Takes after the first vary the stretch
  by up to ±5 % and the speed by up to ±2 %.
- `validation_list.txt` / `testing_list.txt`: the official `which_set` rule (SHA-1 of the
  speaker id, {val:g} % validation, {test:g} % testing); training is every other clip. The
  held-out voices ({heldout}) are all in testing, and their {n_held} clips are also listed in
  `generalization_list.txt`. Counts: training {n_train}, validation {n_val}, testing
  {n_test}.
- `_background_noise_/`: synthetic noises (see its README.md).
"""

LICENSE = """This corpus was generated by topoaudio-zoo from the espeak-ng, Flite and Festival
speech synthesisers and numpy noise generators. It contains no recordings of people and no
part of the Speech Commands dataset. The synthesisers' licences (espeak-ng GPL-3.0-or-later;
Flite and Festival BSD-style, their voices as stated in their Debian copyright files) cover
the programs and voices, not the speech they output.
"""


def _check_engines(engines: list[str], heldout: list[str]) -> list[str]:
    """Validate ``engines`` and ``heldout`` and return the held-out voices of those engines,
    a bare engine name expanded to ``"<engine>:<voice>"`` for every voice it has (espeak-ng's
    stays bare: it holds out every espeak-ng speaker)."""
    unknown = sorted(set(engines) - set(ALL_ENGINES))
    if unknown or not engines or len(set(engines)) != len(engines):
        raise ValueError(f"engines: expected distinct names of {ALL_ENGINES}, got {engines}")
    known = {f"{e}:{v}" for e, vs in ENGINE_VOICES.items() for v in vs}
    bad = sorted(set(heldout) - known - set(ALL_ENGINES))
    if bad:
        raise ValueError(
            f"heldout_voices: unknown {bad} (known: engines {list(ALL_ENGINES)} and "
            f"{sorted(known)})"
        )
    expanded = [
        voice
        for entry in heldout
        for voice in (
            [f"{entry}:{v}" for v in ENGINE_VOICES[entry]] if entry in ENGINE_VOICES else [entry]
        )
    ]
    return [v for v in dict.fromkeys(expanded) if v.split(":")[0] in engines]


def _is_held_out(speaker: Speaker | EngineSpeaker, heldout: list[str]) -> bool:
    voice = _voice(speaker)
    return voice in heldout or voice.split(":")[0] in heldout


def _check_relist(out: Path, clips: list[_Clip]) -> list[tuple[str, int]]:
    """The clips of a rendered corpus at ``out`` as render results (crops unknown: 0)."""
    missing = [c.relpath for c in clips if not (out / c.relpath).is_file()]
    if missing:
        raise ValueError(
            f"relist: {out} lacks {len(missing)} clip(s) these arguments would render, e.g. "
            f"{out / missing[0]}; relist a corpus with the arguments it was rendered with"
        )
    return [(c.relpath, 0) for c in clips]


def render_speech_commands(
    out: str | Path,
    voices: int | None = None,
    words: list[str] | None = None,
    takes: int | None = None,
    small: bool = False,
    seed: int = 0,
    jobs: int | None = None,
    engines: list[str] | None = None,
    heldout_voices: list[str] | None = None,
    variants: int | None = None,
    relist: bool = False,
) -> CorpusSummary:
    """Render a Speech Commands v0.02-format corpus with espeak-ng, Flite and Festival
    (layout, speakers and held-out voices: module docstring).

    Args:
        out: the corpus root; created, and must be absent or empty.
        voices: number of espeak-ng speakers (default 600; 24 with ``small``).
        words: the words (default the 35 of v0.02; their first 6 with ``small``).
        takes: clips per speaker and word, ``_nohash_0`` … (default 1; 2 with ``small``).
        small: a tiny corpus for tests (the defaults above; one variant per Flite/Festival
            voice).
        seed: non-negative random seed; the same seed gives byte-identical files and lists.
        jobs: worker processes (default: the usable CPU cores).
        engines: of ``"espeak-ng"``, ``"flite"``, ``"festival"`` (default ``["espeak-ng"]``,
            the corpus of the shipped models; all three for the richer one).
        heldout_voices: ``"<engine>:<voice>"`` or a bare engine name (all its voices) whose
            clips all go to testing (default Flite ``rms`` and Festival ``ked_diphone``;
            ``[]`` for none).
        variants: (stretch, speed) variants per Flite/Festival voice, 1–25 (default 25; 1 with
            ``small``: the voice's own).
        relist: ``out`` holds a corpus rendered with the same arguments (held-out voices
            aside): write only its lists, ``speakers.tsv`` and README, for ``heldout_voices``.

    Returns:
        A :class:`CorpusSummary` with clips per split and the wall-clock seconds
        (``details["cropped"]`` is None after ``relist``).

    Raises:
        ValueError: naming the bad argument.
        MissingBinaryError: when an engine or Festival voice is not installed, naming its
            Debian package.
    """
    start_time = time.perf_counter()
    preset = SMALL if small else DEFAULTS
    voices = preset["voices"] if voices is None else voices
    takes = preset["takes"] if takes is None else takes
    variants = preset["variants"] if variants is None else variants
    words = _check_words(list(preset["words"] if words is None else words))
    engines = list(DEFAULT_ENGINES if engines is None else engines)
    heldout = _check_engines(
        engines, list(HELDOUT_VOICES if heldout_voices is None else heldout_voices)
    )
    jobs = default_jobs() if jobs is None else jobs
    for name, value in (("voices", voices), ("takes", takes), ("jobs", jobs)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value}")
    if variants is not None and not 1 <= variants <= len(STRETCHES) * len(SPEEDS):
        raise ValueError(f"variants: expected 1..{len(STRETCHES) * len(SPEEDS)}, got {variants}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed}")
    out = Path(out) if relist else _check_out(out)

    speakers: list[Speaker | EngineSpeaker] = []
    accents: list[str] = []
    espeak_variants: list[str] = []
    if "espeak-ng" in engines:
        accents = [v.file for v in english_accents()]
        espeak_variants = [v.file for v in voice_variants()]
        speakers += choose_speakers(accents, espeak_variants, voices, seed)
    for engine in ENGINES:
        if engine in engines:
            check_engine(engine, list(ENGINE_VOICES[engine]))
            speakers += engine_speakers(engine, ENGINE_VOICES[engine], variants, seed)
    groups: list[tuple[_Clip, ...]] = []
    for speaker in speakers:
        clips = [_Clip(out, w, speaker, t, seed) for w in words for t in range(takes)]
        groups += [(c,) for c in clips] if isinstance(speaker, Speaker) else [tuple(clips)]
    if relist:
        results = _check_relist(out, [c for group in groups for c in group])
    else:
        for word in words:
            (out / word).mkdir(parents=True, exist_ok=True)
        results = [
            r for rs in map_jobs(_render_group, groups, jobs, "speech-commands", "job") for r in rs
        ]
    held_ids = {s.speaker_id for s in speakers if _is_held_out(s, heldout)}
    relpaths = sorted(path for path, _ in results)
    splits: dict[str, list[str]] = {"training": [], "validation": [], "testing": []}
    for relpath in relpaths:
        held = Path(relpath).name.split("_nohash_")[0] in held_ids
        splits["testing" if held else which_set(relpath)].append(relpath)
    generalization = [p for p in relpaths if Path(p).name.split("_nohash_")[0] in held_ids]
    for name, paths in (
        ("validation_list.txt", splits["validation"]),
        ("testing_list.txt", splits["testing"]),
        ("generalization_list.txt", generalization),
    ):
        atomic_write_text(out / name, "".join(f"{p}\n" for p in paths))
    write_noises(out / "_background_noise_", seed)
    atomic_write_text(
        out / "speakers.tsv",
        "speaker\tengine\tvoice\tvariant\tsplit\n"
        + "".join(
            f"{s.speaker_id}\t{_voice(s).split(':')[0]}\t{_voice(s).split(':')[1]}\t"
            f"{_variant(s)}\t"
            f"{'testing' if s.speaker_id in held_ids else which_set(s.speaker_id + '_nohash_0')}\n"
            for s in sorted(speakers, key=lambda s: s.speaker_id)
        ),
    )
    counts = {split: len(paths) for split, paths in splits.items()}
    per_engine = {e: sum(1 for s in speakers if _voice(s).startswith(e + ":")) for e in engines}
    versions = {"espeak-ng": espeak_version() if "espeak-ng" in engines else "not used"}
    versions |= {e: engine_version(e) for e in ENGINES if e in engines}
    atomic_write_text(
        out / "README.md",
        README.format(
            versions=", ".join(f"{e} {v}" for e, v in versions.items()),
            seed=seed,
            clips=len(relpaths),
            n_words=len(words),
            n_speakers=len(speakers),
            per_engine=", ".join(f"{e} {n}" for e, n in per_engine.items()),
            takes=takes,
            peak_lo=PEAK_DBFS[0],
            peak_hi=PEAK_DBFS[1],
            rj=TAKE_RATE_JITTER,
            pj=TAKE_PITCH_JITTER,
            accents=", ".join(accents) or "none",
            n_variants=len(espeak_variants),
            variants=", ".join(espeak_variants) or "none",
            rates=", ".join(map(str, RATES)),
            pitches=", ".join(map(str, PITCHES)),
            flite=", ".join(f"{v} ({d})" for v, d in FLITE_VOICES.items())
            if "flite" in engines
            else "not used",
            festival=", ".join(FESTIVAL_VOICES) if "festival" in engines else "not used",
            stretches=", ".join(map(str, STRETCHES)),
            speeds=", ".join(map(str, SPEEDS)),
            heldout=", ".join(heldout) or "none",
            n_held=len(generalization),
            val=VALIDATION_PERCENT,
            test=TESTING_PERCENT,
            n_train=counts["training"],
            n_val=counts["validation"],
            n_test=counts["testing"],
        ),
    )
    atomic_write_text(out / "LICENSE", LICENSE)
    return CorpusSummary(
        out=out,
        split_counts=counts,
        seconds=time.perf_counter() - start_time,
        details={
            "words": len(words),
            "speakers": len(speakers),
            "speakers_per_engine": per_engine,
            "heldout_voices": heldout,
            "generalization_clips": len(generalization),
            "takes": takes,
            "cropped": None if relist else sum(cropped for _, cropped in results),
            "versions": versions,
        },
    )


def _voice(speaker: Speaker | EngineSpeaker) -> str:
    if isinstance(speaker, Speaker):
        return f"espeak-ng:{speaker.accent}+{speaker.variant}"
    return f"{speaker.engine}:{speaker.voice}"


def _variant(speaker: Speaker | EngineSpeaker) -> str:
    if isinstance(speaker, Speaker):
        return f"rate {speaker.rate} pitch {speaker.pitch}"
    return f"stretch {speaker.stretch:g} speed {speaker.speed:g}"
