"""``topoaudio-zoo extract MODEL AUDIO... --layers L1 L2 --out FILE``: activations on sheets."""

from __future__ import annotations

import argparse
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="extract unit activations on the cortical sheets into one file",
        description=(
            "Run every sound of AUDIO (files, or folders searched recursively for "
            ".wav/.flac/.ogg/.mp3) through MODEL (mono, resampled to the model's rate, centre "
            "crop/pad, RMS-normalised) and stream the activations of --layers, units placed on "
            "their cortical sheets, into --out. Read it with "
            "topoaudio_zoo.analysis.load_activations(FILE)."
        ),
    )
    parser.add_argument("model", help="registry name, hf-hub:org/name[@revision] or model folder")
    parser.add_argument("audio", nargs="+", type=Path, help="audio files or folders")
    parser.add_argument(
        "--layers",
        nargs="+",
        required=True,
        help="read-out names (e.g. layer1 layer2 avgpool, block3) or module paths",
    )
    parser.add_argument("--out", type=Path, required=True, help="activation file to write")
    parser.add_argument(
        "--time-pool",
        choices=("mean", "max", "none"),
        default="mean",
        help="pool over frequency and time (conv) or tokens (transformer); none keeps them",
    )
    parser.add_argument("--batch-size", type=_positive_int, default=16, help="sounds per batch")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument("--dtype", choices=("float32", "float16"), default="float32")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis import extract_activations
    from ..zoo import from_pretrained

    model = from_pretrained(args.model, map_location=args.device)
    audio = args.audio[0] if len(args.audio) == 1 else args.audio
    result = extract_activations(
        model,
        audio,
        args.layers,
        time_pool=None if args.time_pool == "none" else args.time_pool,
        batch_size=args.batch_size,
        out=args.out,
        progress=not args.no_progress,
        dtype=args.dtype,
    )
    shapes = ", ".join(
        f"{layer} {'×'.join(map(str, result[layer].shape[1:]))}" for layer in result.layers
    )
    print(f"wrote {result.path}: {result.n_sounds} sounds; {shapes}")
    return 0
