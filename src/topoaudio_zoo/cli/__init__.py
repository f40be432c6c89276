"""The ``topoaudio-zoo`` command line.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds an ``argparse`` parser whose ``func`` default runs it.
The Lightning subcommands (``fit``, ``validate``, ``test``, ``predict``) are handed to
LightningCLI unchanged.

An error ends the command with one line naming its cause on stderr and a non-zero status (2 for
bad input: ``ValueError``/``FileNotFoundError``; 1 otherwise; 130 when interrupted), without a
Python traceback; ``--debug`` (anywhere on the command line) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules of this package that define subcommands, in the order ``--help`` lists them.
SUBCOMMAND_MODULES = (
    "demo",
    "brain",
    "cochleagram",
    "corpus",
    "evaluate",
    "extract",
    "maps",
    "report",
    "zoo",
)
LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test", "predict")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topoaudio-zoo",
        description="Topographic auditory models: cochleagrams, training, the model zoo.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the Python traceback"
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


def _run(argv: list[str], from_console: bool) -> int:
    if argv and argv[0] in LIGHTNING_SUBCOMMANDS:
        from ..training.cli import run_lightning_cli

        return run_lightning_cli(None if from_console else argv)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def _cause(err: BaseException) -> str:
    """The error's message; its type too when the message alone would not say what it is."""
    text = str(err).strip() or type(err).__name__
    if isinstance(err, ValueError | OSError):
        return text
    return f"{type(err).__name__}: {text} (rerun with --debug for the traceback)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``topoaudio-zoo`` console script; returns the exit status.

    Raises:
        SystemExit: on an error, after printing ``topoaudio-zoo COMMAND: error: CAUSE``.
    """
    from_console = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [arg for arg in argv if arg != "--debug"]
    command = next((arg for arg in argv if not arg.startswith("-")), "")
    try:
        return _run(argv, from_console and not debug)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"topoaudio-zoo {command}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as err:
        if debug:
            raise
        print(f"topoaudio-zoo {command}: error: {_cause(err)}", file=sys.stderr)
        bad_input = isinstance(err, ValueError | FileNotFoundError)
        raise SystemExit(2 if bad_input else 1) from None
