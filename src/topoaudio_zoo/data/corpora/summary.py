"""What a corpus renderer reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CorpusSummary"]


@dataclass
class CorpusSummary:
    """The result of rendering a corpus.

    Attributes:
        out: the corpus root.
        split_counts: files per split (``training``/``validation``/``testing`` for Speech
            Commands, ``train``/``valid``/``test`` for NSynth).
        seconds: wall-clock time of the whole rendering, in seconds.
        details: corpus-specific facts (speakers, instruments per family, left-out items...).
    """

    out: Path
    split_counts: dict[str, int]
    seconds: float
    details: dict[str, object] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The number of rendered files over all splits."""
        return sum(self.split_counts.values())
