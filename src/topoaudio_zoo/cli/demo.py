"""``topoaudio-zoo demo --out DIR``: the project's one-command demonstration (no network)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="render the demonstration figures into a folder (no network needed)",
        description=(
            "Synthesise the project's demonstration sound (harmonic tones, then amplitude-"
            "modulated noise), save it as a WAV and render its cochleagram as a PNG."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    parser.add_argument("--mode", default="fast", choices=("fast", "exact"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import soundfile as sf

    from ..cochleagram import Cochleagram
    from ..plotting import plot_cochleagram
    from ..stimuli import demo_sound

    args.out.mkdir(parents=True, exist_ok=True)
    front = Cochleagram(mode=args.mode)
    sound = demo_sound(sr=front.sr, duration=front.config.duration)
    wav = args.out / "demo_sound.wav"
    sf.write(wav, sound.numpy(), front.sr, subtype="PCM_16")
    png = plot_cochleagram(
        front(sound)[0].numpy(),
        front.cf,
        front.env_sr,
        args.out / "cochleagram.png",
        title="demo sound: harmonic tones, then 8 Hz AM noise (cochleagram_1)",
        frame_offset=front.config.window_size / 2 / front.sr,
    )
    print(f"wrote {wav}\nwrote {png}")
    return 0
