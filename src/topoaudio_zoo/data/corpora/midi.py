"""A minimal Standard MIDI File (format 0) writer: bank select, program change, notes, controls.

Time is in milliseconds: the file uses 1 000 ticks per quarter note at 1 000 000 µs per
quarter, so one tick is 1 ms.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from ...atomic import atomic_write_bytes

__all__ = [
    "ALL_SOUND_OFF",
    "BANK_SELECT_MSB",
    "MidiEvent",
    "control_change",
    "note_off",
    "note_on",
    "program_change",
    "write_smf",
]

TICKS_PER_QUARTER = 1000
MICROSECONDS_PER_QUARTER = 1_000_000
BANK_SELECT_MSB = 0
BANK_SELECT_LSB = 32
ALL_SOUND_OFF = 120


@dataclass(frozen=True)
class MidiEvent:
    """A channel message (``data``, status byte first) at ``time_ms`` milliseconds."""

    time_ms: int
    data: bytes


def _check(name: str, value: int, high: int) -> int:
    if not 0 <= value <= high:
        raise ValueError(f"{name}: expected 0..{high}, got {value}")
    return value


def note_on(time_ms: int, channel: int, key: int, velocity: int) -> MidiEvent:
    """Note-on of MIDI ``key`` (0–127) at ``velocity`` (1–127) on ``channel`` (0–15)."""
    _check("velocity", velocity, 127)
    return MidiEvent(
        time_ms, bytes([0x90 | _check("channel", channel, 15), _check("key", key, 127), velocity])
    )


def note_off(time_ms: int, channel: int, key: int) -> MidiEvent:
    """Note-off of MIDI ``key`` on ``channel`` (release velocity 64)."""
    return MidiEvent(
        time_ms, bytes([0x80 | _check("channel", channel, 15), _check("key", key, 127), 64])
    )


def control_change(time_ms: int, channel: int, controller: int, value: int) -> MidiEvent:
    """Control change ``controller`` := ``value`` (both 0–127) on ``channel``."""
    return MidiEvent(
        time_ms,
        bytes(
            [
                0xB0 | _check("channel", channel, 15),
                _check("controller", controller, 127),
                _check("value", value, 127),
            ]
        ),
    )


def program_change(time_ms: int, channel: int, program: int) -> MidiEvent:
    """Program change to ``program`` (0–127, General MIDI numbering from 0) on ``channel``."""
    return MidiEvent(
        time_ms, bytes([0xC0 | _check("channel", channel, 15), _check("program", program, 127)])
    )


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_smf(path: str | os.PathLike, events: list[MidiEvent], end_ms: int = 0) -> None:
    """Write ``events`` (any order; equal times keep their order) as a format-0 MIDI file whose
    track ends at ``end_ms`` milliseconds or at its last event, whichever is later."""
    track = bytearray()
    track += b"\x00\xff\x51\x03" + MICROSECONDS_PER_QUARTER.to_bytes(3, "big")
    now = 0
    for event in sorted(events, key=lambda e: e.time_ms):
        if event.time_ms < 0:
            raise ValueError(f"events: negative time {event.time_ms} ms")
        track += _varlen(event.time_ms - now) + event.data
        now = event.time_ms
    track += _varlen(max(0, end_ms - now)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    atomic_write_bytes(path, header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))
