"""``topoaudio-zoo cochleagram AUDIO --out PNG``: render a span of a sound's cochleagram.

By default the span is the preset's clip length (2 s for ``cochleagram_1``) from ``--start``;
``--duration`` asks for more (``all``: to the end), which is computed in chunks so memory stays
bounded (the span's waveform plus one chunk; 10 minutes stay far below 1 GB).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

# Most image columns of a figure: longer spans average neighbouring frames into one column.
MAX_COLUMNS = 2000


def _seconds(text: str) -> float | None:
    if text == "all":
        return None
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def _start(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected seconds ≥ 0, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cochleagram",
        help="render the cochleagram of (a span of) an audio file as a PNG",
        description=(
            "Read a span of AUDIO (any format soundfile reads; by default the preset's clip "
            "length from --start), convert it to mono at the preset's rate, demean and "
            "normalise it to RMS 0.1, and write its cochleagram as a labelled PNG. Spans longer "
            "than the clip are computed in chunks (bounded memory) and averaged into at most "
            f"{MAX_COLUMNS} image columns."
        ),
    )
    parser.add_argument("audio", type=Path, help="audio file (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--preset", default="cochleagram_1", help="front-end preset")
    parser.add_argument("--mode", default="fast", choices=("fast", "exact"))
    parser.add_argument("--start", type=_start, default=0.0, help="first second rendered")
    parser.add_argument(
        "--duration",
        type=_seconds,
        default=argparse.SUPPRESS,
        help="seconds rendered, or 'all' (to the end); default: the preset's clip length",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..audio import DEFAULT_RMS, crop_or_pad
    from ..cochleagram import Cochleagram, resolve_config
    from ..cochleagram.stream import cochleagram_chunks, n_frames, pooled_columns, read_span
    from ..plotting import plot_cochleagram

    config = resolve_config(args.preset)
    duration = getattr(args, "duration", config.duration)
    waveform, file_seconds = read_span(args.audio, config.sr, args.start, duration)
    waveform = crop_or_pad(waveform, max(waveform.numel(), config.window_size))
    waveform -= waveform.mean()  # in place: a long span is not copied
    level = float(waveform.pow(2).mean().sqrt())
    if level > 0:
        waveform *= DEFAULT_RMS / level
    n = waveform.numel()
    if n <= config.signal_size:
        front_end = Cochleagram(args.preset, mode=args.mode, signal_size=n)
        with torch.no_grad():
            chunks = iter([front_end(waveform)[0].numpy()])
    else:
        front_end = Cochleagram(args.preset, mode=args.mode, signal_size=2 * config.signal_size)
        chunks = cochleagram_chunks(waveform, front_end)
    total = n_frames(front_end, n)
    pool = math.ceil(total / MAX_COLUMNS)
    image = pooled_columns(chunks, pool)
    end = args.start + n / config.sr
    span = f"{args.start:g}–{end:g} s"
    out = plot_cochleagram(
        image,
        front_end.cf,
        front_end.env_sr / pool,
        args.out,
        title=f"{args.audio.name}, {span} ({args.preset}, {args.mode})",
        frame_offset=args.start
        + (config.window_size / 2 + (pool - 1) * config.hop / 2) / config.sr,
    )
    averaged = f", {pool} frames per column" if pool > 1 else ""
    print(f"wrote {out} ({image.shape[0]} channels × {total} frames{averaged}; {span})")
    if args.start > 0 or end < file_seconds - 1 / config.sr:
        print(
            f"rendered {span} of the {file_seconds:g}-s file; --start and --duration (or "
            "--duration all) choose the span",
            file=sys.stderr,
        )
    return 0
