"""``topoaudio-zoo cochleagram AUDIO --out PNG``: render a sound's cochleagram."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cochleagram",
        help="render the cochleagram of an audio file as a PNG",
        description=(
            "Read AUDIO (any format soundfile reads), convert it to mono at the preset's rate, "
            "demean and normalise it to RMS 0.1, and write its cochleagram as a labelled PNG."
        ),
    )
    parser.add_argument("audio", type=Path, help="audio file (WAV, FLAC, OGG, MP3, ...)")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    parser.add_argument("--preset", default="cochleagram_1", help="front-end preset")
    parser.add_argument("--mode", default="fast", choices=("fast", "exact"))
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="crop/pad to this many seconds (default: the whole file)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..audio import crop_or_pad, load_audio, normalize_rms
    from ..cochleagram import Cochleagram, resolve_config
    from ..plotting import plot_cochleagram

    config = resolve_config(args.preset)
    waveform, sr = load_audio(args.audio, sr=config.sr)
    if args.duration is not None:
        if args.duration <= 0:
            raise ValueError(
                f"--duration: expected a positive number of seconds, got {args.duration}"
            )
        length = round(args.duration * sr)
    else:
        length = waveform.numel()
    length = max(length, config.window_size)
    waveform = normalize_rms(crop_or_pad(waveform, length))
    front_end = Cochleagram(args.preset, mode=args.mode, signal_size=length)
    cochleagram = front_end(waveform)[0].numpy()
    out = plot_cochleagram(
        cochleagram,
        front_end.cf,
        front_end.env_sr,
        args.out,
        title=f"{args.audio.name} ({args.preset}, {args.mode})",
        frame_offset=config.window_size / 2 / sr,
    )
    print(f"wrote {out} ({cochleagram.shape[0]} channels × {cochleagram.shape[1]} frames)")
    return 0
