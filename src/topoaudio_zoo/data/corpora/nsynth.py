"""An NSynth stand-in played by FluidSynth from a General-MIDI SoundFont, in the "jsonwav" layout.

Layout (as the NSynth jsonwav release)::

    OUT/nsynth-{train,valid,test}/examples.json      {note_str: {...13 fields...}}
    OUT/nsynth-{train,valid,test}/audio/<note_str>.wav  16 kHz mono 16-bit PCM, 64 000 samples
    OUT/README.md   provenance and the instrument table (not part of the real release)

``note_str`` is ``<instrument_str>-<pitch:03d>-<velocity:03d>`` and ``instrument_str`` is
``<family>_<source>_<index:03d>`` (index counted within family and source). An *instrument* is
one melodic preset of the SoundFont (a program in bank 0, or a variation of it in another
bank); its family and source come from the General-MIDI program (:mod:`.gm`). Instruments are
split disjointly: per family, shuffled with the seed, ``max(1, round(10 %))`` go to valid and
as many to test when the family has at least 3 instruments, the rest to train.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...atomic import atomic_write_text
from .fluidsynth import NoteSpec, render_notes
from .gm import EXCLUDED_PROGRAMS, FAMILIES, FAMILY_PITCH_RANGE, QUALITIES, SOURCES, family_source
from .parallel import default_jobs, map_jobs
from .sf2 import read_presets
from .summary import CorpusSummary
from .system import require_binary, run_binary
from .wav import write_pcm16

__all__ = ["DEFAULT_SOUNDFONT", "SPLITS", "VELOCITIES", "Instrument", "render_nsynth"]

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SAMPLE_RATE = 16000  # Hz
VELOCITIES = (25, 50, 75, 100, 127)  # NSynth's velocities
SPLITS = ("train", "valid", "test")
HELD_OUT_FRACTION = 0.1  # of a family's instruments, for each of valid and test
MIN_INSTRUMENTS_TO_HOLD_OUT = 3
SILENT_PEAK = 1e-3  # a note whose peak stays below this (−60 dBFS) is dropped
GAIN = 0.8  # FluidSynth master gain
BATCH_NOTES = 64  # notes per FluidSynth process
DEFAULT_PER_FAMILY = 1100
SMALL_PER_FAMILY = 6
SMALL_INSTRUMENTS_PER_FAMILY = 3
PERCUSSION_BANK = 128


@dataclass(frozen=True)
class Instrument:
    """A SoundFont preset used as an NSynth instrument."""

    bank: int
    program: int
    preset_name: str
    family: str
    source: str
    instrument_id: int
    source_index: int
    split: str = "train"

    @property
    def instrument_str(self) -> str:
        return f"{self.family}_{self.source}_{self.source_index:03d}"


@dataclass(frozen=True)
class _Note:
    instrument: Instrument
    pitch: int
    velocity: int

    @property
    def note_str(self) -> str:
        return f"{self.instrument.instrument_str}-{self.pitch:03d}-{self.velocity:03d}"


@dataclass(frozen=True)
class _Batch:
    out: Path
    soundfont: Path
    notes: tuple[_Note, ...]


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:15], 16)
    return np.random.default_rng([seed, digest])


def discover_instruments(soundfont: Path) -> tuple[list[Instrument], list[str]]:
    """The melodic presets of ``soundfont`` that map to an NSynth family, numbered, and a
    description of each preset left out."""
    kept, left_out = [], []
    for preset in read_presets(soundfont):
        mapping = None if preset.bank >= PERCUSSION_BANK else family_source(preset.program)
        if mapping is None:
            reason = (
                "percussion kit"
                if preset.bank >= PERCUSSION_BANK
                else EXCLUDED_PROGRAMS.get(preset.program, "no family")
            )
            left_out.append(f"{preset.bank}:{preset.program} {preset.name} ({reason})")
        else:
            kept.append((*mapping, preset))
    kept.sort(key=lambda k: (FAMILIES.index(k[0]), SOURCES.index(k[1]), k[2]))
    instruments, per_source = [], {}
    for instrument_id, (family, source, preset) in enumerate(kept):
        index = per_source.get((family, source), 0)
        per_source[(family, source)] = index + 1
        instruments.append(
            Instrument(
                preset.bank, preset.program, preset.name, family, source, instrument_id, index
            )
        )
    return instruments, left_out


def assign_splits(
    instruments: list[Instrument], seed: int, per_family_limit: int | None = None
) -> list[Instrument]:
    """Give each instrument a split, disjointly (see the module docstring); with
    ``per_family_limit``, keep only that many instruments of each family (seeded choice)."""
    assigned = []
    for family in FAMILIES:
        members = [i for i in instruments if i.family == family]
        order = _rng(seed, f"split|{family}").permutation(len(members))
        members = [members[k] for k in order][:per_family_limit]
        n = len(members)
        held = max(1, round(HELD_OUT_FRACTION * n)) if n >= MIN_INSTRUMENTS_TO_HOLD_OUT else 0
        for k, instrument in enumerate(members):
            split = "valid" if k < held else "test" if k < 2 * held else "train"
            assigned.append(replace(instrument, split=split))
    return sorted(assigned, key=lambda i: i.instrument_id)


def choose_notes(instrument: Instrument, count: int, seed: int) -> list[_Note]:
    """``count`` (pitch, velocity) pairs of the family's pitch range × :data:`VELOCITIES`,
    drawn without replacement (all of them when fewer), sorted."""
    low, high = FAMILY_PITCH_RANGE[instrument.family]
    grid = [(p, v) for p in range(low, high + 1) for v in VELOCITIES]
    picks = _rng(seed, f"notes|{instrument.instrument_str}").permutation(len(grid))[:count]
    return [_Note(instrument, *grid[k]) for k in sorted(picks)]


def _render_batch(batch: _Batch) -> list[tuple[str, str, bool]]:
    """Render and write a batch; returns ``(note_str, "ok" | "silent", clipped)`` per note."""
    specs = [
        NoteSpec(n.instrument.bank, n.instrument.program, n.pitch, n.velocity) for n in batch.notes
    ]
    waveforms = render_notes(specs, batch.soundfont, sr=SAMPLE_RATE, gain=GAIN)
    results = []
    for note, waveform in zip(batch.notes, waveforms, strict=True):
        peak = float(np.abs(waveform).max())
        if peak < SILENT_PEAK:
            results.append((note.note_str, "silent", False))
            continue
        split_dir = batch.out / f"nsynth-{note.instrument.split}" / "audio"
        write_pcm16(split_dir / f"{note.note_str}.wav", waveform, SAMPLE_RATE)
        results.append((note.note_str, "ok", peak > 1.0))
    return results


def _example(note: _Note, note_id: int) -> dict[str, object]:
    instrument = note.instrument
    return {
        "note": note_id,
        "note_str": note.note_str,
        "instrument": instrument.instrument_id,
        "instrument_str": instrument.instrument_str,
        "pitch": note.pitch,
        "velocity": note.velocity,
        "sample_rate": SAMPLE_RATE,
        "qualities": [0] * len(QUALITIES),
        "qualities_str": [],
        "instrument_family": FAMILIES.index(instrument.family),
        "instrument_family_str": instrument.family,
        "instrument_source": SOURCES.index(instrument.source),
        "instrument_source_str": instrument.source,
    }


def _fluidsynth_version() -> str:
    out = run_binary([require_binary("fluidsynth"), "--version"], "fluidsynth --version")
    first = out.decode("utf-8", "replace").splitlines()[0]
    return " ".join(first.replace("runtime version", "").split())


def _check_soundfont(soundfont: str | Path | None) -> Path:
    path = DEFAULT_SOUNDFONT if soundfont is None else Path(soundfont)
    if not path.is_file():
        hint = (
            "; install it with `apt-get install fluid-soundfont-gm`"
            if path == DEFAULT_SOUNDFONT
            else ""
        )
        raise FileNotFoundError(f"soundfont: {path} does not exist{hint}")
    return path


README = """# Synthetic NSynth (jsonwav layout)

Rendered offline by topoaudio-zoo (`topoaudio-zoo make-corpus nsynth`) with {fluidsynth} and
the SoundFont `{soundfont}`, seed {seed}. It is NOT the NSynth dataset: every note was played
by FluidSynth from a General-MIDI SoundFont; the layout and the fields of `examples.json` are
those of the NSynth jsonwav release, so the same loaders read both.

- Notes: 4 s at 16 kHz, mono 16-bit PCM; note-on for 3 s, then release; reverb and chorus
  off; velocities {velocities}; pitches per family within MIDI 21–108; silent notes (outside
  a preset's key range) dropped. `qualities` are not annotated (all zeros).
- Family and source of an instrument come from its General-MIDI program (topoaudio-zoo
  docs/corpora.md). Instruments never cross splits.
- Notes: train {train}, valid {valid}, test {test}.

| instrument_str | split | bank | program | preset |
|---|---|---|---|---|
{rows}
"""


def render_nsynth(
    out: str | Path,
    per_family: int | None = None,
    small: bool = False,
    seed: int = 0,
    jobs: int | None = None,
    soundfont: str | Path | None = None,
) -> CorpusSummary:
    """Render an NSynth jsonwav-format corpus with FluidSynth (layout: module docstring).

    Args:
        out: the corpus root; created, and must be absent or empty.
        per_family: notes wanted per family, spread evenly over its instruments (default
            1 100; 6 with ``small``); a family whose instruments' grids hold fewer gets all.
        small: a tiny corpus for tests: 3 instruments per family (one per split), 6 notes per
            family.
        seed: non-negative random seed; the same seed gives byte-identical files.
        jobs: worker processes (default: the usable CPU cores).
        soundfont: the SoundFont 2 file (default FluidR3_GM of ``fluid-soundfont-gm``).

    Returns:
        A :class:`CorpusSummary`: notes per split, seconds, and in ``details`` the instruments
        per family and split, the presets left out, families without any instrument, and
        dropped silent or clipped notes.

    Raises:
        ValueError: naming the bad argument.
        FileNotFoundError: when the SoundFont is missing.
        MissingBinaryError: when fluidsynth is not installed.
    """
    start_time = time.perf_counter()
    per_family = (
        (SMALL_PER_FAMILY if small else DEFAULT_PER_FAMILY) if per_family is None else per_family
    )
    jobs = default_jobs() if jobs is None else jobs
    for name, value in (("per_family", per_family), ("jobs", jobs)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive integer, got {value}")
    if seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"out: {out} exists and is not an empty directory")
    soundfont = _check_soundfont(soundfont)
    require_binary("fluidsynth")

    all_instruments, left_out = discover_instruments(soundfont)
    limit = SMALL_INSTRUMENTS_PER_FAMILY if small else None
    instruments = assign_splits(all_instruments, seed, per_family_limit=limit)
    notes: list[_Note] = []
    for family in FAMILIES:
        members = [i for i in instruments if i.family == family]
        for instrument in members:
            notes += choose_notes(instrument, math.ceil(per_family / len(members)), seed)
    for split in SPLITS:
        (out / f"nsynth-{split}" / "audio").mkdir(parents=True, exist_ok=True)
    batches = [
        _Batch(out, soundfont, tuple(notes[i : i + BATCH_NOTES]))
        for i in range(0, len(notes), BATCH_NOTES)
    ]
    results = [r for rs in map_jobs(_render_batch, batches, jobs, "nsynth", "batch") for r in rs]
    status = {note_str: (state, clipped) for note_str, state, clipped in results}

    kept = sorted((n for n in notes if status[n.note_str][0] == "ok"), key=lambda n: n.note_str)
    note_ids = {n.note_str: k for k, n in enumerate(kept)}
    for split in SPLITS:
        examples = {
            n.note_str: _example(n, note_ids[n.note_str])
            for n in kept
            if n.instrument.split == split
        }
        atomic_write_text(out / f"nsynth-{split}" / "examples.json", json.dumps(examples, indent=2))

    atomic_write_text(
        out / "README.md",
        README.format(
            fluidsynth=_fluidsynth_version(),
            soundfont=soundfont,
            seed=seed,
            velocities=", ".join(map(str, VELOCITIES)),
            **{s: sum(1 for n in kept if n.instrument.split == s) for s in SPLITS},
            rows="\n".join(
                f"| {i.instrument_str} | {i.split} | {i.bank} | {i.program} | {i.preset_name} |"
                for i in sorted(instruments, key=lambda i: i.instrument_str)
            ),
        ),
    )
    table = {
        family: {
            s: sum(1 for i in instruments if i.family == family and i.split == s) for s in SPLITS
        }
        for family in FAMILIES
    }
    return CorpusSummary(
        out=out,
        split_counts={s: sum(1 for n in kept if n.instrument.split == s) for s in SPLITS},
        seconds=time.perf_counter() - start_time,
        details={
            "instruments_per_family": table,
            "families_without_instruments": [f for f in FAMILIES if sum(table[f].values()) == 0],
            "left_out_presets": left_out,
            "silent_notes": sorted(k for k, (state, _) in status.items() if state == "silent"),
            "clipped_notes": sorted(k for k, (_, clipped) in status.items() if clipped),
        },
    )
