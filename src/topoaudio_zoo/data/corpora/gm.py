"""General MIDI programs → NSynth instrument families and sources, as data.

Programs are numbered from 0 (GM's "program 1, Acoustic Grand Piano" is 0 here). The mapping
follows the GM program groups (piano → keyboard, chromatic percussion → mallet, organ → organ,
guitar → guitar, bass → bass, strings and string ensembles → string, brass → brass, reed →
reed, pipe → flute, synth lead → synth_lead, choir voices → vocal), with single programs of
the mixed groups (ensemble, ethnic, percussive) placed by the instrument they imitate. Synth
pads, synth effects, sound effects, unpitched percussion and the orchestra hit fit no NSynth
family and are left out (:data:`EXCLUDED_PROGRAMS`).
"""

from __future__ import annotations

__all__ = [
    "EXCLUDED_PROGRAMS",
    "FAMILIES",
    "FAMILY_PITCH_RANGE",
    "GM_FAMILY_SOURCE",
    "QUALITIES",
    "SOURCES",
    "family_source",
]

# NSynth's numbering of families, sources and qualities.
FAMILIES = (
    "bass",
    "brass",
    "flute",
    "guitar",
    "keyboard",
    "mallet",
    "organ",
    "reed",
    "string",
    "synth_lead",
    "vocal",
)
SOURCES = ("acoustic", "electronic", "synthetic")
QUALITIES = (
    "bright",
    "dark",
    "distortion",
    "fast_decay",
    "long_release",
    "multiphonic",
    "nonlinear_env",
    "percussive",
    "reverb",
    "tempo-synced",
)


def _programs(first: int, last: int, family: str, source: str) -> dict[int, tuple[str, str]]:
    return {p: (family, source) for p in range(first, last + 1)}


# GM program (0-127) → (NSynth family, NSynth source).
GM_FAMILY_SOURCE: dict[int, tuple[str, str]] = {
    # 0-7 piano
    **_programs(0, 1, "keyboard", "acoustic"),  # acoustic grand, bright acoustic
    **_programs(2, 2, "keyboard", "electronic"),  # electric grand
    **_programs(3, 3, "keyboard", "acoustic"),  # honky-tonk
    **_programs(4, 5, "keyboard", "electronic"),  # electric pianos 1-2
    **_programs(6, 6, "keyboard", "acoustic"),  # harpsichord
    **_programs(7, 7, "keyboard", "electronic"),  # clavinet
    # 8-15 chromatic percussion: celesta ... dulcimer
    **_programs(8, 15, "mallet", "acoustic"),
    # 16-23 organ
    **_programs(16, 18, "organ", "electronic"),  # drawbar, percussive, rock organ
    **_programs(19, 21, "organ", "acoustic"),  # church organ, reed organ, accordion
    **_programs(22, 22, "reed", "acoustic"),  # harmonica (a free reed)
    **_programs(23, 23, "organ", "acoustic"),  # tango accordion / bandoneon
    # 24-31 guitar
    **_programs(24, 25, "guitar", "acoustic"),  # nylon, steel
    **_programs(26, 31, "guitar", "electronic"),  # jazz, clean, muted, overdrive, distortion, harm.
    # 32-39 bass
    **_programs(32, 32, "bass", "acoustic"),  # acoustic bass
    **_programs(33, 37, "bass", "electronic"),  # finger, pick, fretless, slap 1-2
    **_programs(38, 39, "bass", "synthetic"),  # synth bass 1-2
    # 40-47 strings (47 timpani is left out)
    **_programs(40, 46, "string", "acoustic"),  # violin ... orchestral harp
    # 48-55 ensemble (55 orchestra hit is left out)
    **_programs(48, 49, "string", "acoustic"),  # string ensembles 1-2
    **_programs(50, 51, "string", "synthetic"),  # synth strings 1-2
    **_programs(52, 53, "vocal", "acoustic"),  # choir aahs, voice oohs
    **_programs(54, 54, "vocal", "synthetic"),  # synth voice
    # 56-63 brass
    **_programs(56, 61, "brass", "acoustic"),  # trumpet ... brass section
    **_programs(62, 63, "brass", "synthetic"),  # synth brass 1-2
    # 64-71 reed: saxophones, oboe, english horn, bassoon, clarinet
    **_programs(64, 71, "reed", "acoustic"),
    # 72-79 pipe: piccolo ... ocarina
    **_programs(72, 79, "flute", "acoustic"),
    # 80-87 synth lead
    **_programs(80, 87, "synth_lead", "synthetic"),
    # 104-111 ethnic
    **_programs(104, 107, "guitar", "acoustic"),  # sitar, banjo, shamisen, koto
    **_programs(108, 108, "mallet", "acoustic"),  # kalimba
    **_programs(109, 109, "reed", "acoustic"),  # bagpipe
    **_programs(110, 110, "string", "acoustic"),  # fiddle
    **_programs(111, 111, "reed", "acoustic"),  # shanai
    # 112-119 percussive: only the pitched ones
    **_programs(112, 112, "mallet", "acoustic"),  # tinkle bell
    **_programs(114, 114, "mallet", "acoustic"),  # steel drums
}

# Programs left out, with the reason.
EXCLUDED_PROGRAMS: dict[int, str] = {
    47: "drum (timpani)",
    55: "chord stab (orchestra hit)",
    **{p: "synth pad" for p in range(88, 96)},
    **{p: "synth effect" for p in range(96, 104)},
    113: "unpitched percussion",
    **{p: "unpitched percussion" for p in range(115, 120)},
    **{p: "sound effect" for p in range(120, 128)},
}

# MIDI pitches rendered for each family (inclusive), within NSynth's piano range 21-108.
FAMILY_PITCH_RANGE: dict[str, tuple[int, int]] = {
    "bass": (28, 67),
    "brass": (40, 84),
    "flute": (55, 96),
    "guitar": (40, 88),
    "keyboard": (21, 108),
    "mallet": (48, 100),
    "organ": (36, 96),
    "reed": (40, 84),
    "string": (28, 96),
    "synth_lead": (36, 96),
    "vocal": (43, 84),
}


def family_source(program: int) -> tuple[str, str] | None:
    """``(family, source)`` of a GM program (0–127), or ``None`` when it fits no family."""
    if not 0 <= program <= 127:
        raise ValueError(f"program: expected 0..127, got {program}")
    return GM_FAMILY_SOURCE.get(program)
