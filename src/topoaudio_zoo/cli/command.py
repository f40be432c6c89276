"""How a subcommand module adds its parser: one shape for every ``register``."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    doc: str,
    run: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` that runs ``run(args)``.

    ``doc`` is the module docstring: its first paragraph, ````usage``: summary.````, gives the
    summary line of ``topoaudio-zoo --help``; the rest is the command's own ``--help`` text,
    line breaks kept.
    """
    first, _, rest = doc.partition("\n\n")
    summary = " ".join(first.split("``:", 1)[-1].split()).removesuffix(".")
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=rest.strip() or summary,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run)
    return parser
