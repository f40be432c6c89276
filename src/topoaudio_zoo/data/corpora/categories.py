"""The background corpus's sound categories and the path → category mapping (``categories.csv``).

The categories follow the top of the AudioSet ontology (music, human sounds, animal, natural
sounds, sounds of things), merged where Debian's recordings are few. The mapping is data:
``categories.csv`` beside this module, one row per ``source, pattern, category, note``; lines
starting with ``#`` are comments. A file's category is that of the first row of its source whose
shell glob (:func:`fnmatch.fnmatchcase`) matches its lower-cased path relative to the source's
root. :data:`EXCLUDE` leaves a file out on purpose; a file that no row matches is *unlabelled*.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path

__all__ = ["CATEGORIES", "EXCLUDE", "CategoryRule", "categorise", "load_rules", "mapping_text"]

EXCLUDE = "exclude"
# Category → what it holds (its AudioSet counterparts), in the canonical order of the labels.
CATEGORIES: dict[str, str] = {
    "music": "Music: songs, orchestral and folk pieces, fanfares, drum ensembles",
    "human_vocal": "Human non-speech vocalisation: grunt, groan, scream, shout, laugh, wail",
    "animal": "Animal: birdsong, insects, wolf, horse, bat, boar, snake hiss, roars",
    "engine_machine": "Vehicle, engine, mechanisms: cars, jet, machines, clock, skid",
    "water_weather_fire": "Natural sounds: water (rain, river, splash), thunder, wind, fire",
    "impact_tool": "Sounds of things: impacts, blows, weapons, tools, breaking, rolling",
    "explosion_gunshot": "Explosion, gunshot, fireworks",
    "signal_alarm": "Alarm and signal: horns, bells, chimes, beeps, timers",
}


@dataclass(frozen=True)
class CategoryRule:
    """One row of the mapping: files of ``source`` matching ``pattern`` → ``category``."""

    source: str
    pattern: str
    category: str
    note: str


def mapping_text() -> str:
    """The text of the shipped ``categories.csv``."""
    return resources.files(__package__).joinpath("categories.csv").read_text(encoding="utf-8")


def load_rules(path: str | Path | None = None) -> list[CategoryRule]:
    """The rules of ``path`` (default: the shipped ``categories.csv``), in file order.

    Raises:
        ValueError: naming the file and line of a malformed row or an unknown category.
    """
    text = mapping_text() if path is None else Path(path).read_text(encoding="utf-8")
    where = "categories.csv" if path is None else str(path)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    header = next(reader, None)
    if header != ["source", "pattern", "category", "note"]:
        raise ValueError(f"{where}: expected the header source,pattern,category,note")
    rules = []
    for (number, _), row in zip(lines[1:], reader, strict=True):
        if len(row) != 4:
            raise ValueError(f"{where}:{number}: expected 4 fields, got {len(row)}")
        if row[2] not in CATEGORIES and row[2] != EXCLUDE:
            raise ValueError(
                f"{where}:{number}: unknown category {row[2]!r} (one of {[*CATEGORIES, EXCLUDE]})"
            )
        rules.append(CategoryRule(*row))
    return rules


def categorise(rules: list[CategoryRule], source: str, relpath: str) -> CategoryRule | None:
    """The first rule of ``source`` matching ``relpath`` (lower-cased), or ``None``."""
    name = relpath.lower()
    for rule in rules:
        if rule.source == source and fnmatchcase(name, rule.pattern):
            return rule
    return None
