"""``topoaudio-zoo extract MODEL AUDIO... [--layers L...] --out FILE.h5``: extract unit activations
on the cortical sheets into one file.

Run every sound of AUDIO (files, or folders searched recursively for every format soundfile
reads: .wav .flac .ogg .oga .opus .mp3 .aiff .au ...) through MODEL (mono, resampled to the
model's rate, centre crop/pad, RMS-normalised) and stream the activations of --layers, units
placed on their cortical sheets, into the HDF5 file --out. Read it with
topoaudio_zoo.load_activations(FILE) or h5py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .command import add_command


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "extract", __doc__, run)
    parser.add_argument("model", help="registry name, hf-hub:org/name[@revision] or model folder")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files or folders")
    parser.add_argument(
        "--layers",
        nargs="+",
        help="read-out names (e.g. layer1 layer2 avgpool, block3) or module paths "
        "(default: every read-out stage of the backbone)",
    )
    parser.add_argument("--out", type=Path, required=True, help="HDF5 activation file to write")
    parser.add_argument(
        "--pool",
        choices=("unit", "time", "none"),
        default="unit",
        help="unit: one value per unit per sound (mean over frequency and time, or tokens); "
        "time: mean over time only, frequency kept (conv); none: everything",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="read conv layers named by path before their normalisation and non-linearity",
    )
    parser.add_argument("--batch-size", type=_positive_int, default=16, help="sounds per batch")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out files that cannot be used (not audio, unreadable, truncated, NaN) and "
        "list each with its reason at the end (default: stop at the first, naming it)",
    )
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    from ..analysis import extract_activations
    from ..analysis.sound_sources import AudioFiles
    from ..devices import resolve_device
    from ..zoo import from_pretrained

    device = resolve_device(args.device)
    model = from_pretrained(args.model, map_location=device)
    audio = AudioFiles(
        args.audio[0] if len(args.audio) == 1 else args.audio,
        on_error="skip" if args.skip_bad else "raise",
    )
    result = extract_activations(
        model,
        audio,
        args.layers,
        pool=args.pool,
        raw=args.raw,
        batch_size=args.batch_size,
        out=args.out,
        progress=not args.no_progress,
        dtype=args.dtype,
    )
    shapes = ", ".join(
        f"{layer} {'×'.join(map(str, values.shape[1:]))}" for layer, values in result.items()
    )
    print(f"wrote {result.path}: {result.n_sounds} sounds; {shapes}")
    if audio.skipped:
        print(f"skipped {len(audio.skipped)} unusable file(s):")
        for file, reason in audio.skipped:
            print(f"  {file}: {reason}")
    return 0
