"""Listing the presets of a SoundFont 2 file from its ``phdr`` chunk (RIFF ``sfbk`` → LIST
``pdta`` → ``phdr``: 38-byte records, the last one the ``EOP`` terminator)."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Preset", "read_presets"]

PHDR_RECORD = struct.Struct("<20sHHHIII")


@dataclass(frozen=True, order=True)
class Preset:
    """A SoundFont preset: MIDI ``bank`` (128 = percussion kits), ``program`` (0–127) and its
    ``name``."""

    bank: int
    program: int
    name: str


def _chunks(f, end: int):
    """Yield ``(chunk_id, size, body_offset)`` for the RIFF chunks from the file position to
    ``end``, leaving the file positioned after each chunk."""
    while f.tell() + 8 <= end:
        chunk_id, size = struct.unpack("<4sI", f.read(8))
        body = f.tell()
        yield chunk_id, size, body
        f.seek(body + size + (size & 1))


def read_presets(path: str | os.PathLike) -> list[Preset]:
    """The presets of the SoundFont at ``path``, sorted by (bank, program).

    Raises:
        FileNotFoundError: when the file is missing.
        ValueError: naming the file when it is not a SoundFont 2 or has no preset headers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"soundfont: {path} does not exist")
    with path.open("rb") as f:
        riff, size, form = struct.unpack("<4sI4s", f.read(12))
        if riff != b"RIFF" or form != b"sfbk":
            raise ValueError(f"soundfont: {path} is not a SoundFont 2 file")
        for chunk_id, chunk_size, body in _chunks(f, 8 + size):
            if chunk_id != b"LIST" or f.read(4) != b"pdta":
                continue
            for sub_id, sub_size, _ in _chunks(f, body + chunk_size):
                if sub_id != b"phdr":
                    continue
                data = f.read(sub_size)
                records = [
                    PHDR_RECORD.unpack_from(data, i)
                    for i in range(0, sub_size - PHDR_RECORD.size + 1, PHDR_RECORD.size)
                ]
                return sorted(
                    Preset(bank, program, raw.split(b"\0")[0].decode("latin-1").strip())
                    for raw, program, bank, *_ in records[:-1]
                )
    raise ValueError(f"soundfont: {path} has no preset headers (phdr chunk)")
