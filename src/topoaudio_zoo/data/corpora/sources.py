"""Debian packages of recorded sound: where their audio lies, under which licence, how to group it.

Each :class:`SoundSource` is a folder of audio files installed by one Debian package. A file's
licence comes from the package's copyright file: in the machine-readable format (DEP-5) the
last ``Files:`` stanza whose glob matches the file's path in the upstream tree wins; otherwise
the source's declared licence (read off the package's copyright file by hand) applies.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from .system import MissingBinaryError

__all__ = [
    "SOURCES",
    "SoundSource",
    "copyright_file",
    "file_licences",
    "package_version",
    "require_package",
    "split_group",
]

AUDIO_SUFFIXES = (".ogg", ".wav", ".flac")


@dataclass(frozen=True)
class SoundSource:
    """A folder of recordings: ``name`` (used by ``categories.csv``), Debian ``package``,
    installed ``root``, ``upstream`` prefix of its files in the package's copyright file, the
    ``licence`` stated there for the whole folder, and the package's download size (MB)."""

    name: str
    package: str
    root: Path
    upstream: str
    licence: str
    download_mb: int

    def files(self) -> list[Path]:
        """The audio files under the root (``.ogg``, ``.wav``, ``.flac``), sorted."""
        return sorted(
            p for p in self.root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
        )


WESNOTH = Path("/usr/share/games/wesnoth/1.16")
STK = Path("/usr/share/games/supertuxkart/data")
SOURCES: dict[str, SoundSource] = {
    s.name: s
    for s in (
        SoundSource(
            "wesnoth-sfx", "wesnoth-1.16-data", WESNOTH / "data/core/sounds",
            "data/core/sounds", "GPL-2+", 146,
        ),
        SoundSource(
            "wesnoth-ui", "wesnoth-1.16-data", WESNOTH / "sounds", "sounds", "GPL-2+", 146
        ),
        SoundSource(
            "wesnoth-music", "wesnoth-1.16-music", WESNOTH / "data/core/music",
            "data/core/music", "GPL-2+", 153,
        ),
        SoundSource("stk-sfx", "supertuxkart-data", STK / "sfx", "data/sfx", "GPL-3+", 628),
        SoundSource("stk-music", "supertuxkart-data", STK / "music", "data/music", "GPL-3+", 628),
    )
}  # fmt: skip


def require_package(package: str, path: Path) -> None:
    """Check that ``path`` (installed by Debian ``package``) exists.

    Raises:
        MissingBinaryError: naming the package and the command that installs it.
    """
    if not path.exists():
        raise MissingBinaryError(
            f"{path} was not found: the Debian package {package!r} is missing; install it "
            f"with `apt-get install {package}` (Debian/Ubuntu)"
        )


def copyright_file(package: str) -> Path:
    """The Debian copyright file of ``package``."""
    return Path("/usr/share/doc") / package / "copyright"


def package_version(package: str) -> str:
    """The installed version of Debian ``package`` (``"unknown"`` without dpkg)."""
    try:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, check=False
        )
    except FileNotFoundError:
        return "unknown"
    return proc.stdout.decode().strip() or "unknown"


def _dep5_stanzas(text: str) -> list[tuple[list[str], str]]:
    """``(file globs, licence)`` of every ``Files:`` stanza of a DEP-5 copyright file."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current] += "\n" + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                fields[current] = value.strip()
        if "Files" in fields and "License" in fields:
            stanzas.append((fields["Files"].split(), fields["License"].splitlines()[0].strip()))
    return stanzas


def file_licences(
    source: SoundSource, files: list[Path], copyright_path: Path | None = None
) -> dict[Path, str]:
    """The licence of each of ``files`` (see the module docstring), from ``copyright_path``
    (default: the package's copyright file)."""
    path = copyright_file(source.package) if copyright_path is None else copyright_path
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    if not text.startswith("Format:"):
        return dict.fromkeys(files, source.licence)
    stanzas = _dep5_stanzas(text)
    licences = {}
    for file in files:
        upstream = f"{source.upstream}/{file.relative_to(source.root).as_posix()}"
        licence = source.licence
        for globs, stanza_licence in stanzas:
            if any(fnmatchcase(upstream, g) for g in globs):
                licence = stanza_licence
        licences[file] = licence
    return licences


def split_group(relpath: str) -> str:
    """The name shared by versions of one recording, which must stay in one split: the path
    without its suffix, a trailing number, and ``_fast``/``_f``/``-old``/``_remake`` (e.g.
    ``wolf-hit-3.ogg`` → ``wolf-hit``, ``celtic_fast.ogg`` → ``celtic``)."""
    stem = relpath.lower().rsplit(".", 1)[0]
    stem = re.sub(r"([-_](fast|f|old|remake))+$", "", stem)
    return re.sub(r"[-_]?\d+$", "", stem) or stem
