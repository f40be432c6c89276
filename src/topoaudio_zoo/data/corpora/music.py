"""Procedural multi-instrument General-MIDI music with drums, in several styles.

A *track* is composed from a seed and a style: a key (any of 12, major or minor), a tempo drawn
from the style's range, a chord progression of the style repeated over the track's bars, and
four parts, each on its own MIDI channel with a General-MIDI program drawn from the style's
pools:

- drums (channel 10, a GM drum kit): the style's one-bar pattern on a 16th-note grid (kick,
  snare, hi-hat, ride, clap, percussion), a crash on every fourth bar's downbeat;
- bass: the chord's root (and fifth, or a walking line for swing) in the style's rhythm;
- chords: the chord's triad (a seventh chord for jazz) voiced around middle C, as block chords,
  an arpeggio, off-beat stabs or held pads;
- melody: a random walk on the key's scale, phrased in two-bar halves with rests, chord tones
  on strong beats.

Velocities and onsets are humanised (±8 velocity, ±8 ms). Times are in milliseconds, for
:func:`.midi.write_smf`. Styles: see :data:`STYLES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .midi import MidiEvent, control_change, note_off, note_on, program_change

__all__ = ["STYLES", "Style", "Track", "compose"]

DRUM_CHANNEL = 9  # GM channel 10
BASS, CHORDS, MELODY = 0, 1, 2  # channels of the pitched parts
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# GM drum keys.
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 39, 42, 44, 46
CRASH, RIDE, TAMBOURINE, COWBELL, HIGH_CONGA, LOW_CONGA, SHAKER = 49, 51, 54, 56, 63, 64, 70
VOLUME = 7


@dataclass(frozen=True)
class Style:
    """A musical style: tempo range (beats per minute), beats per bar, swing, drum pattern
    (GM key → 16th-note steps of one bar, ``beats × 4`` steps), GM drum kits (programs of bank
    128), program pools of the bass, chord and melody parts, the chord part's playing
    (``"block"``, ``"arpeggio"``, ``"offbeat"`` or ``"pad"``), the bass rhythm (steps) and the
    chord progressions (scale degrees 0–6)."""

    name: str
    tempo: tuple[int, int]
    beats: int
    swing: bool
    drums: dict[int, tuple[int, ...]]
    kits: tuple[int, ...]
    bass_programs: tuple[int, ...]
    chord_programs: tuple[int, ...]
    melody_programs: tuple[int, ...]
    comping: str
    bass_steps: tuple[int, ...]
    progressions: tuple[tuple[int, ...], ...]


POP = ((0, 4, 5, 3), (0, 5, 3, 4), (5, 3, 0, 4))
STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "rock", (100, 140), 4, False,
            {KICK: (0, 6, 8), SNARE: (4, 12), CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
            (0, 16), (33, 34), (29, 30, 27), (30, 81, 62), "block", (0, 2, 4, 6, 8, 10, 12, 14),
            ((0, 3, 4, 3), (0, 6, 3, 0), *POP),
        ),
        Style(
            "ballad", (64, 84), 4, False,
            {KICK: (0, 10), SIDE_STICK: (4, 12), CLOSED_HAT: (0, 2, 4, 6, 8, 10, 12, 14)},
            (0, 8), (32, 33, 35), (0, 4, 48, 49), (73, 40, 71, 52), "arpeggio", (0, 8, 10), POP,
        ),
        Style(
            "waltz", (84, 120), 3, False,
            {KICK: (0,), SNARE: (4, 8), PEDAL_HAT: (4, 8)},
            (0, 48), (32, 58, 43), (21, 48, 0, 46), (40, 73, 68, 22), "block", (0,),
            ((0, 4, 4, 0), (0, 3, 4, 0), (0, 5, 1, 4)),
        ),
        Style(
            "bossa", (120, 144), 4, False,
            {KICK: (0, 3, 4, 8, 11, 12), SIDE_STICK: (0, 3, 6, 10, 13), SHAKER: tuple(range(16))},
            (0, 32, 40), (32, 33), (24, 25, 4), (73, 65, 11, 66), "offbeat", (0, 6, 8, 14),
            ((1, 4, 0, 0), (0, 1, 4, 0), (5, 1, 4, 0)),
        ),
        Style(
            "dance", (118, 132), 4, False,
            {KICK: (0, 4, 8, 12), CLAP: (4, 12), OPEN_HAT: (2, 6, 10, 14), CLOSED_HAT: (0, 8)},
            (24, 25), (38, 39, 87), (89, 90, 50, 81), (80, 81, 84, 98), "pad",
            (2, 6, 10, 14), ((5, 3, 0, 4), (0, 5, 3, 4), (5, 6, 0, 4)),
        ),
        Style(
            "swing", (110, 170), 4, True,
            {RIDE: (0, 4, 7, 8, 12, 15), PEDAL_HAT: (4, 12), KICK: (0,)},
            (32, 40), (32,), (0, 4, 11, 26), (65, 66, 56, 11, 64), "offbeat", (0, 4, 8, 12),
            ((1, 4, 0, 0), (0, 5, 1, 4), (2, 5, 1, 4)),
        ),
        Style(
            "march", (104, 124), 4, False,
            {KICK: (0, 8), SNARE: (0, 4, 6, 8, 12, 13, 14), CRASH: (0,)},
            (48, 0), (58, 57), (61, 60, 57), (56, 72, 71, 73), "block", (0, 4, 8, 12),
            ((0, 4, 0, 4), (0, 3, 4, 0), (0, 0, 4, 4)),
        ),
        Style(
            "funk", (92, 116), 4, False,
            {KICK: (0, 3, 10), SNARE: (4, 12, 15), CLOSED_HAT: tuple(range(16)),
             TAMBOURINE: (4, 12)},
            (0, 24, 25), (36, 37, 34), (7, 16, 27, 61), (61, 65, 17, 62), "offbeat",
            (0, 3, 6, 10, 11, 14), ((0, 0, 3, 3), (0, 3, 0, 4), (1, 4, 1, 4)),
        ),
        Style(
            "reggae", (68, 88), 4, False,
            {KICK: (8,), SIDE_STICK: (8,), CLOSED_HAT: (2, 6, 10, 14), COWBELL: (4, 12)},
            (0, 8), (33, 34), (16, 17, 27), (56, 65, 22, 19), "offbeat", (0, 6, 8, 11),
            ((0, 3, 0, 4), (0, 5, 3, 4), (0, 3, 4, 3)),
        ),
        Style(
            "latin", (96, 128), 4, False,
            {KICK: (0, 8), HIGH_CONGA: (3, 6, 11, 14), LOW_CONGA: (4, 12), COWBELL: (0, 4, 8, 12),
             SHAKER: (0, 2, 4, 6, 8, 10, 12, 14)},
            (0, 48), (32, 33), (0, 24, 11, 12), (56, 73, 65, 66), "arpeggio", (0, 6, 8, 14),
            ((0, 4, 4, 0), (5, 4, 0, 0), (0, 3, 4, 3)),
        ),
    )
}  # fmt: skip


@dataclass(frozen=True)
class Track:
    """A composed piece: its style, key (0 = C), mode, tempo (bpm), bars, programs and the
    MIDI events (ms) ending at ``end_ms``."""

    style: str
    key: int
    minor: bool
    tempo: int
    bars: int
    kit: int
    programs: tuple[int, int, int]
    events: tuple[MidiEvent, ...]
    end_ms: int


def _chord(degree: int, scale: tuple[int, ...], seventh: bool) -> list[int]:
    """Semitones above the tonic of the triad (or seventh chord) on scale ``degree``."""
    steps = (0, 2, 4, 6) if seventh else (0, 2, 4)
    return [scale[(degree + s) % 7] + 12 * ((degree + s) // 7) for s in steps]


class _Writer:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.events: list[MidiEvent] = []

    def note(self, channel: int, key: int, start_ms: float, length_ms: float, velocity: int):
        jitter = float(self.rng.uniform(-8.0, 8.0))
        on = max(0, round(start_ms + jitter))
        off = max(on + 20, round(start_ms + jitter + length_ms))
        velocity = int(np.clip(velocity + self.rng.integers(-8, 9), 1, 127))
        key = int(np.clip(key, 0, 127))
        self.events += [note_on(on, channel, key, velocity), note_off(off, channel, key)]


def compose(style_name: str, seed: int, seconds: float) -> Track:
    """Compose a track of style ``style_name`` at least ``seconds`` long (whole bars, plus 2 s
    for the last notes to ring out).

    Raises:
        ValueError: for an unknown style or a non-positive length.
    """
    if style_name not in STYLES:
        raise ValueError(f"style: expected one of {sorted(STYLES)}, got {style_name!r}")
    if seconds <= 0:
        raise ValueError(f"seconds: expected a positive length, got {seconds}")
    style = STYLES[style_name]
    rng = np.random.default_rng(seed)
    tempo = int(rng.integers(style.tempo[0], style.tempo[1] + 1))
    beat_ms = 60000.0 / tempo
    step_ms = beat_ms / 4
    bar_ms = beat_ms * style.beats
    bars = max(2, int(np.ceil(seconds * 1000 / bar_ms)))
    tonic = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.4)
    scale = MINOR if minor else MAJOR
    progression = style.progressions[int(rng.integers(len(style.progressions)))]
    kit = int(rng.choice(style.kits))
    programs = (
        int(rng.choice(style.bass_programs)),
        int(rng.choice(style.chord_programs)),
        int(rng.choice(style.melody_programs)),
    )
    out = _Writer(rng)
    for channel, program in zip((BASS, CHORDS, MELODY), programs, strict=True):
        out.events.append(program_change(0, channel, program))
    out.events.append(program_change(0, DRUM_CHANNEL, kit))
    for channel, volume in ((BASS, 100), (CHORDS, 72), (MELODY, 96), (DRUM_CHANNEL, 100)):
        out.events.append(control_change(0, channel, VOLUME, volume))

    def at(bar: int, step: int) -> float:
        swung = style.swing and step % 4 == 2
        return 200.0 + bar * bar_ms + step * step_ms + (step_ms / 3 if swung else 0.0)

    steps = style.beats * 4
    melody_key = 60 + tonic + int(rng.choice((0, 12)))
    degree_pos = 0  # melody position on the scale, relative to the tonic
    for bar in range(bars):
        degree = progression[bar % len(progression)]
        chord = _chord(degree, scale, seventh=style.name == "swing")
        root = 36 + tonic + chord[0] % 12
        for key, pattern in style.drums.items():
            for step in pattern:
                if step < steps:
                    accent = 110 if step % 4 == 0 else 85
                    out.note(DRUM_CHANNEL, key, at(bar, step), step_ms, accent)
        if bar % 4 == 0:
            out.note(DRUM_CHANNEL, CRASH, at(bar, 0), beat_ms, 100)
        for k, step in enumerate(s for s in style.bass_steps if s < steps):
            if style.name == "swing":
                note = root + chord[k % len(chord)] - chord[0]
            else:
                note = root + (7 if k % 4 == 3 else 0)
            out.note(BASS, note, at(bar, step), step_ms * 3.5, 96)
        voicing = [60 + tonic + c for c in chord]
        if style.comping == "pad":
            for note in voicing:
                out.note(CHORDS, note, at(bar, 0), bar_ms * 0.98, 70)
        elif style.comping == "block":
            for beat in range(style.beats):
                for note in voicing:
                    out.note(CHORDS, note, at(bar, 4 * beat), beat_ms * 0.9, 80)
        elif style.comping == "offbeat":
            for beat in range(style.beats):
                for note in voicing:
                    out.note(CHORDS, note, at(bar, 4 * beat + 2), step_ms * 1.5, 78)
        else:
            for k in range(steps // 2):
                note = voicing[k % len(voicing)] + (12 if (k // len(voicing)) % 2 else 0)
                out.note(CHORDS, note, at(bar, 2 * k), step_ms * 2.5, 72)
        resting = bar % 2 == 1 and rng.random() < 0.5
        step = 0
        while step < steps and not (resting and step >= steps // 2):
            length = int(rng.choice((2, 2, 4, 4, 6, 8)))
            if step % 4 == 0:
                chord_classes = {c % 12 for c in chord}
                tones = [d for d in range(-5, 13) if scale[d % 7] in chord_classes]
                degree_pos = min(tones, key=lambda d: (abs(d - degree_pos), d))
            else:
                degree_pos = int(np.clip(degree_pos + rng.integers(-2, 3), -5, 12))
            pitch = melody_key + scale[degree_pos % 7] + 12 * (degree_pos // 7)
            out.note(MELODY, pitch, at(bar, step), step_ms * length * 0.9, 92)
            step += length
    end_ms = round(200.0 + bars * bar_ms + 2000.0)
    return Track(style_name, tonic, minor, tempo, bars, kit, programs, tuple(out.events), end_ms)
