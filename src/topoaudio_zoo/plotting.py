"""PNG figures: cochleagrams and maps on cortical sheets (matplotlib, no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from .atomic import atomic_path

__all__ = ["frequency_ticks", "plot_cochleagram", "save_figure"]

_NICE_FREQUENCIES = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def save_figure(fig: matplotlib.figure.Figure, out: str | os.PathLike) -> Path:
    """Write ``fig`` to ``out`` atomically (format from its extension, PNG when it has none),
    creating ``out``'s folder, then close the figure.

    Readers of ``out`` see the old figure or the whole new one, never a half-written file.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".").lower() or "png")
    plt.close(fig)
    return out


def frequency_ticks(cf: np.ndarray) -> tuple[list[int], list[str]]:
    """Channel indices nearest to round frequencies, and their labels in Hz/kHz."""
    positions, labels = [], []
    for freq in _NICE_FREQUENCIES:
        if cf.min() <= freq <= cf.max():
            positions.append(int(np.argmin(np.abs(cf - freq))))
            labels.append(f"{freq // 1000}k" if freq >= 1000 else str(freq))
    return positions, labels


def plot_cochleagram(
    cochleagram: np.ndarray,
    cf: np.ndarray,
    env_sr: float,
    out: str | os.PathLike,
    title: str = "",
    frame_offset: float = 0.0,
) -> Path:
    """Write a cochleagram as a labelled PNG.

    Args:
        cochleagram: ``(channels, frames)``.
        cf: centre frequency of each channel in Hz, ``(channels,)``.
        env_sr: frame rate in Hz.
        out: the PNG path (parent folders are created).
        title: figure title.
        frame_offset: time in seconds of frame 0's centre (half the decimation window).
    """
    cochleagram = np.asarray(cochleagram)
    if cochleagram.ndim != 2 or cochleagram.shape[0] != len(cf):
        raise ValueError(
            f"cochleagram: expected (channels={len(cf)}, frames), got {cochleagram.shape}"
        )
    n_frames = cochleagram.shape[1]
    t0 = frame_offset - 0.5 / env_sr
    fig, ax = plt.subplots(figsize=(8, 4), dpi=120)
    image = ax.imshow(
        cochleagram,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(t0, t0 + n_frames / env_sr, -0.5, len(cf) - 0.5),
        interpolation="nearest",
    )
    positions, labels = frequency_ticks(np.asarray(cf))
    ax.set_yticks(positions, labels)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("centre frequency (Hz)")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, label="compressed envelope (a.u.)")
    fig.tight_layout()
    return save_figure(fig, out)
