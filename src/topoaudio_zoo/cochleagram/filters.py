"""ERB-spaced half-cosine filter bank and the Kaiser-windowed sinc decimation taps.

Both follow the ``cochleagram_1`` front end of Feather et al. and Tuckute et al. (see
``shared/reference/cochleagram.md``): filters evenly spaced on the Glasberg & Moore ERB-number
scale, ``sample_factor``-times overcomplete, with low- and high-pass filters so that the squared
responses sum to one. Everything is computed in float64 NumPy once per configuration.
"""

from __future__ import annotations

import numpy as np

__all__ = ["downsampling_taps", "erb_cosine_filters", "erb_to_hz", "hz_to_erb", "rfft_frequencies"]


def hz_to_erb(freq_hz: np.ndarray | float) -> np.ndarray:
    """ERB number of a frequency in Hz: ``9.265 · ln(1 + f / (24.7 · 9.265))``."""
    return 9.265 * np.log1p(np.asarray(freq_hz, dtype=np.float64) / (24.7 * 9.265))


def erb_to_hz(erb: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_erb`: frequency in Hz of an ERB number."""
    return 24.7 * 9.265 * np.expm1(np.asarray(erb, dtype=np.float64) / 9.265)


def rfft_frequencies(signal_size: int, sr: float) -> np.ndarray:
    """Frequencies in Hz of the ``signal_size // 2 + 1`` bins of ``rfft`` (DC to Nyquist)."""
    n_bins = signal_size // 2 + 1
    top = sr / 2 if signal_size % 2 == 0 else sr * (signal_size - 1) / (2 * signal_size)
    return np.linspace(0.0, top, n_bins)


def erb_cosine_filters(
    signal_size: int, sr: float, n: int, low_lim: float, high_lim: float, sample_factor: int
) -> tuple[np.ndarray, np.ndarray]:
    """Half-cosine filters on the ERB scale, on the rFFT grid of a ``signal_size`` signal.

    Args:
        signal_size: samples of the signal the filters apply to.
        sr: its rate in Hz.
        n: band-pass filters at ``sample_factor = 1`` (50 for ``cochleagram_1``).
        low_lim, high_lim: lowest and highest filter edge in Hz.
        sample_factor: overcompleteness (4: neighbouring filters overlap by 87.5 %).

    Returns:
        ``(filters, cf)``: ``filters`` of shape ``(channels, signal_size // 2 + 1)`` with
        ``channels = sample_factor · (n + 1) − 1 + 2 · sample_factor`` (low-pass filters first,
        then band-pass, then high-pass), and ``cf`` the centre frequencies in Hz, ``(channels,)``.
    """
    freqs = rfft_frequencies(signal_size, sr)
    freqs_erb = hz_to_erb(freqs)
    n_bandpass = sample_factor * (n + 1) - 1
    edges, spacing = np.linspace(
        hz_to_erb(low_lim), hz_to_erb(high_lim), n_bandpass + 2, retstep=True
    )
    centres = edges[1:-1]
    half_width = sample_factor * spacing
    filters = np.zeros((n_bandpass + 2 * sample_factor, freqs.size))
    for i, centre in enumerate(centres):
        lo, hi = centre - half_width, centre + half_width
        inside = (freqs_erb > lo) & (freqs_erb < hi)
        filters[sample_factor + i, inside] = np.cos(
            (freqs_erb[inside] - centre) / (hi - lo) * np.pi
        )
    for i in range(sample_factor):
        below = np.flatnonzero(freqs < erb_to_hz(centres[i]))
        above = np.flatnonzero(freqs > erb_to_hz(centres[-1 - i]))
        if below.size == 0 or above.size == 0:
            raise ValueError(
                "low_lim/high_lim: the outermost filters fall between FFT bins; widen the "
                f"range or lengthen the signal (low_lim={low_lim}, high_lim={high_lim}, "
                f"signal_size={signal_size})"
            )
        top = below[-1] + 1
        filters[i, :top] = np.sqrt(1.0 - filters[sample_factor + i, :top] ** 2)
        bottom = above[0]
        filters[-1 - i, bottom:] = np.sqrt(1.0 - filters[-1 - sample_factor - i, bottom:] ** 2)
    filters /= np.sqrt(sample_factor)
    cf_erb = np.concatenate(
        [centres[:sample_factor] - half_width, centres, centres[-sample_factor:] + half_width]
    )
    cf = erb_to_hz(cf_erb)
    cf[cf < 0] = 1.0
    return filters, cf


def downsampling_taps(decimation: int, window_size: int, beta: float) -> np.ndarray:
    """Anti-aliasing taps for decimating an envelope by ``decimation``.

    ``h[k] = kaiser(window_size, beta)[k] · sinc(t_k / decimation) / decimation`` with
    ``t_k = k − window_size / 2`` (for 1001 taps: −500.5 … 499.5, the reference's half-sample
    offset). Applied as a cross-correlation with stride ``decimation``.
    """
    times = np.arange(window_size) - window_size / 2
    return np.kaiser(window_size, beta) * np.sinc(times / decimation) / decimation
