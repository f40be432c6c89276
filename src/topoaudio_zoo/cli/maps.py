"""``topoaudio-zoo maps MODEL [--baseline MODEL] --out DIR``: tonotopy, AM, category and component
maps with statistics against nulls.

For every layer: the tonotopic map (pure tones, 50 Hz – 8 kHz), the amplitude-modulation map
(noise carriers, 2–64 Hz, plus an unmodulated control) and, with --data-dir (the NH2015 165
sounds, loaded by topoaudio_zoo.brain.load_nh2015), the speech and music d′ maps and the
response components. Each map carries Moran's I and the TDANN smoothness with p-values against
units shuffled on the sheet; category maps also against random sound sets of the same sizes.
Writes DIR/maps.json, one PNG per map family (the model beside its baseline) and DIR/maps.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .command import add_command


def add_map_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``maps`` and ``report``."""
    parser.add_argument("model", help="registry name, hf-hub: id or model folder")
    parser.add_argument("--baseline", default=None, help="a model to show beside it")
    parser.add_argument(
        "--layers",
        nargs="+",
        default=None,
        help="read-out names or module paths on 2-D sheets; 'topographic' adds every "
        "TopoLoss layer (default: every read-out stage, conv1_relu1 … avgpool)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="NH2015 folder for category maps and components (without it they are skipped)",
    )
    parser.add_argument(
        "--download", action="store_true", help="fetch the NH2015 files into --data-dir first"
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the NH2015 checksums (a folder of your own sounds in the NH2015 layout)",
    )
    parser.add_argument(
        "--contrasts",
        nargs="+",
        default=["speech", "music"],
        help="NH2015 presets: speech, music or any of the 11 categories",
    )
    parser.add_argument("--components", type=int, default=6, help="response components (0: none)")
    parser.add_argument("--method", choices=("nmf", "ica"), default="nmf")
    parser.add_argument("--permutations", type=int, default=1000, help="draws of every null")
    parser.add_argument("--seed", type=int, default=0)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "maps", __doc__, run)
    add_map_options(parser)


def compute_maps(args: argparse.Namespace) -> list:
    """:class:`~topoaudio_zoo.maps.ModelMaps` of the model and its baseline, from the options."""
    from ..maps import default_layers, model_maps, nh2015_sounds, preset_groups, topographic_layers
    from ..zoo.registry import from_pretrained

    for contrast in args.contrasts:
        preset_groups(contrast)
    names = [args.model] + ([args.baseline] if args.baseline else [])
    models = {name: from_pretrained(name) for name in names}
    first = models[args.model]
    layers = list(args.layers or default_layers(first))
    if "topographic" in layers:
        at = layers.index("topographic")
        layers[at : at + 1] = topographic_layers(first)
    sounds = None
    if args.data_dir is not None or args.download:
        if args.download:
            from ..brain import load_nh2015

            load_nh2015(args.data_dir, download=True)
        sounds = nh2015_sounds(first, args.data_dir, verify=not args.no_verify)
    results = []
    for name, model in models.items():
        print(f"maps of {name} ({len(layers)} layers)")
        results.append(
            model_maps(
                model,
                layers,
                sounds,
                args.contrasts,
                n_components=args.components,
                method=args.method,
                n_permutations=args.permutations,
                seed=args.seed,
                name=name,
            )
        )
    return results


def run(args: argparse.Namespace) -> int:
    from ..maps.summary import write_maps

    written = write_maps(compute_maps(args), args.out)
    print("\n".join(f"wrote {path}" for path in written))
    return 0
