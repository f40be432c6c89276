"""Offline corpora in the exact on-disk layouts of real datasets, rendered from Debian packages.

- :func:`render_speech_commands`: Speech Commands v0.02 layout, spoken by ``espeak-ng``.
- :func:`render_backgrounds`: real recordings from Debian game data and General-MIDI music,
  labelled by sound category (AudioSet-like), split by recording.
- :func:`render_nsynth`: NSynth "jsonwav" layout, notes played by ``fluidsynth`` with the
  FluidR3_GM SoundFont (``fluid-soundfont-gm``).

See ``docs/corpora.md`` for the layouts, the speaker scheme and the family mapping.
"""

from .backgrounds import render_backgrounds
from .categories import CATEGORIES
from .nsynth import render_nsynth
from .speech_commands import SPEECH_COMMANDS_WORDS, render_speech_commands, which_set
from .summary import CorpusSummary
from .system import MissingBinaryError

__all__ = [
    "CATEGORIES",
    "SPEECH_COMMANDS_WORDS",
    "CorpusSummary",
    "MissingBinaryError",
    "render_backgrounds",
    "render_nsynth",
    "render_speech_commands",
    "which_set",
]
