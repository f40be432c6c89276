"""A figure of example cochleagrams per category of a background corpus."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from ...audio import load_audio, normalize_rms
from ...cochleagram import Cochleagram
from ...plotting import frequency_ticks, save_figure
from ..base import place
from .categories import CATEGORIES

__all__ = ["plot_category_cochleagrams"]


def plot_category_cochleagrams(
    root: str | os.PathLike, out: str | os.PathLike, per_category: int = 3, seed: int = 0
) -> Path:
    """Plot ``per_category`` clips of every category of the corpus at ``root`` as cochleagrams.

    Clips are drawn (seeded) from each category's training clips; each is cut to its loudest
    2 s at 20 kHz (zero-padded when shorter), set to RMS 0.1, and shown as the project's
    cochleagram (preset ``cochleagram_1``: 211 channels × 390 frames), one row per category.

    Raises:
        FileNotFoundError: when ``root`` has no ``manifest.csv``.
    """
    manifest = Path(root) / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"root: {manifest} does not exist")
    with manifest.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    rng = np.random.default_rng(seed)
    chosen = {}
    for category in CATEGORIES:
        clips = sorted(r["clip"] for r in rows if r["category"] == category)
        if clips:
            picks = rng.choice(len(clips), size=min(per_category, len(clips)), replace=False)
            chosen[category] = [clips[k] for k in sorted(picks)]
    front_end = Cochleagram()
    fig, axes = plt.subplots(
        len(chosen), per_category, figsize=(3.2 * per_category, 1.6 * len(chosen)), dpi=110,
        squeeze=False,
    )  # fmt: skip
    for row, (category, clips) in enumerate(chosen.items()):
        for col in range(per_category):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(clips):
                ax.axis("off")
                continue
            waveform, _ = load_audio(Path(root) / clips[col], front_end.sr)
            clip = normalize_rms(place(waveform, front_end.config.signal_size, "loudest"), 0.1)
            with torch.no_grad():
                image = front_end(clip)[0].numpy()
            ax.imshow(image, origin="lower", aspect="auto", cmap="magma")
            ax.set_title(Path(clips[col]).stem, fontsize=6)
            if col == 0:
                positions, labels = frequency_ticks(front_end.cf)
                ax.set_yticks(positions[::2], labels[::2], fontsize=6)
                ax.set_ylabel(category, fontsize=8)
    fig.suptitle("Background corpus: 2 s cochleagrams (time →, frequency ↑) per category")
    fig.tight_layout()
    return save_figure(fig, out)
