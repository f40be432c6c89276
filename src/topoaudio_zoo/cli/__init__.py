"""The ``topoaudio-zoo`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds an ``argparse`` parser whose ``func`` default runs it.
The Lightning subcommands (``fit``, ``validate``, ``test``, ``predict``) are handed to
LightningCLI unchanged.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules of this package that define subcommands, in the order ``--help`` lists them.
SUBCOMMAND_MODULES = ("demo", "cochleagram", "corpus", "evaluate", "extract", "zoo")
LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topoaudio-zoo",
        description="Topographic auditory models: cochleagrams, training, the model zoo.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    for name in LIGHTNING_SUBCOMMANDS:
        subparsers.add_parser(
            name,
            help=f"LightningCLI {name} with a YAML recipe: topoaudio-zoo {name} --config FILE",
            add_help=False,
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``topoaudio-zoo`` console script; returns the exit status."""
    from_console = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
        from ..training.cli import run_lightning_cli

        return run_lightning_cli(None if from_console else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        parser.exit(2, f"topoaudio-zoo {args.command}: error: {err}\n")
