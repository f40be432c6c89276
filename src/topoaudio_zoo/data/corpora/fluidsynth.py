"""Rendering NSynth-style notes with FluidSynth: one process plays a whole MIDI sequence.

Each note gets a slot of ``LEAD_MS + NOTE_MS`` milliseconds: the bank select and program
change sit at the slot's start, in silence; the note starts ``LEAD_MS`` later, is held for
``HOLD_MS`` and released; at ``NOTE_MS`` after its start an *all sound off* (CC 120) kills
what still rings. The rendered stream is cut into one ``NOTE_MS`` window per note, and the
silence before each note's start is checked, so notes cannot bleed into each other.
Reverb and chorus are off (they would ring across slots). A note's waveform does not depend on
the notes before it, except within its first 64-sample processing block (by less than −45 dB
re full scale: FluidSynth reuses voices); rendering batches are fixed by the seed, so a corpus
is still reproducible.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .midi import (
    ALL_SOUND_OFF,
    BANK_SELECT_LSB,
    BANK_SELECT_MSB,
    control_change,
    note_off,
    note_on,
    program_change,
    write_smf,
)
from .system import require_binary, run_binary

__all__ = ["HOLD_MS", "NOTE_MS", "NoteSpec", "render_notes"]

NOTE_MS = 4000  # a note's window: held, then released (NSynth: 4 s)
HOLD_MS = 3000  # note-on to note-off (NSynth: 3 s)
LEAD_MS = 500  # silence before each note, where its program is selected
BLEED_PEAK = 1e-5  # the lead-in silence must stay below this (full scale 1)
CHANNEL = 0


@dataclass(frozen=True)
class NoteSpec:
    """One note: SoundFont ``bank`` and ``program``, MIDI ``pitch`` and ``velocity``."""

    bank: int
    program: int
    pitch: int
    velocity: int


def render_notes(
    notes: list[NoteSpec], soundfont: str | os.PathLike, sr: int = 16000, gain: float = 0.8
) -> list[np.ndarray]:
    """Play ``notes`` one after another with FluidSynth and cut them apart.

    Args:
        notes: the notes, in playing order.
        soundfont: the SoundFont 2 file.
        sr: sample rate in Hz.
        gain: FluidSynth's master gain (``-g``).

    Returns:
        One float32 mono waveform per note, ``NOTE_MS`` long (64 000 samples at 16 kHz),
        starting at the note-on (FluidSynth adds one 64-sample block of latency); samples are
        not clipped.

    Raises:
        MissingBinaryError: when fluidsynth is not installed.
        RuntimeError: when FluidSynth fails, renders too little, or a note bleeds into the
            silence before the next.
    """
    binary = require_binary("fluidsynth")
    slot_ms = LEAD_MS + NOTE_MS
    events = []
    for i, note in enumerate(notes):
        start = i * slot_ms
        onset = start + LEAD_MS
        events += [
            control_change(start, CHANNEL, BANK_SELECT_MSB, note.bank),
            control_change(start, CHANNEL, BANK_SELECT_LSB, 0),
            program_change(start, CHANNEL, note.program),
            note_on(onset, CHANNEL, note.pitch, note.velocity),
            note_off(onset + HOLD_MS, CHANNEL, note.pitch),
            control_change(onset + NOTE_MS, CHANNEL, ALL_SOUND_OFF, 0),
        ]
    end_ms = len(notes) * slot_ms + LEAD_MS
    with tempfile.TemporaryDirectory(prefix="topoaudio-fluidsynth-") as tmp:
        midi_path, raw_path = Path(tmp, "notes.mid"), Path(tmp, "notes.raw")
        write_smf(midi_path, events, end_ms=end_ms)
        args = [binary, "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", str(gain), "-r", str(sr)]
        args += ["-T", "raw", "-O", "float", "-E", "little", "-F", str(raw_path)]
        run_binary([*args, os.fspath(soundfont), str(midi_path)], "fluidsynth rendering")
        stereo = np.fromfile(raw_path, dtype="<f4")
    mono = stereo[: stereo.size // 2 * 2].reshape(-1, 2).mean(axis=1)
    note_samples = NOTE_MS * sr // 1000
    lead_samples = LEAD_MS * sr // 1000
    needed = (len(notes) - 1) * (slot_ms * sr // 1000) + lead_samples + note_samples
    if mono.size < needed:
        raise RuntimeError(
            f"fluidsynth rendered {mono.size} samples, {needed} expected for {len(notes)} notes"
        )
    waveforms = []
    for i, note in enumerate(notes):
        onset = i * (slot_ms * sr // 1000) + lead_samples
        lead_in = mono[onset - lead_samples // 2 : onset]
        if np.abs(lead_in).max(initial=0.0) > BLEED_PEAK:
            raise RuntimeError(f"{note}: the previous note bleeds into its lead-in")
        waveforms.append(mono[onset : onset + note_samples].copy())
    return waveforms
