"""LightningCLI for ``topoaudio-zoo fit|validate|test|predict --config recipe.yaml``."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from lightning.pytorch.cli import LightningCLI

from .module import TopoAudioModule

__all__ = ["TopoAudioCLI", "run_lightning_cli"]


class TopoAudioCLI(LightningCLI):
    """LightningCLI: ``TopoAudioModule`` and any ``LightningDataModule`` (``data.class_path``)."""


def run_lightning_cli(args: Sequence[str] | None = None) -> int:
    """Run a Lightning subcommand, e.g. ``["fit", "--config", "recipe.yaml"]``.

    ``None`` reads the command line (``sys.argv``), as the console script does.
    """
    TopoAudioCLI(
        TopoAudioModule,
        L.LightningDataModule,
        subclass_mode_data=True,
        args=None if args is None else list(args),
        save_config_kwargs={"overwrite": True},
        parser_kwargs={"prog": "topoaudio-zoo"},
    )
    return 0
