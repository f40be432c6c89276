"""Voxel encoding models: one decomposition per split versus one ``RidgeCV`` per target.

Synthetic NH2015-sized problem: 165 sounds × ``--features`` features (default 50 000, a
low-rank signal plus noise) predicting 7 694 voxels × 3 repetitions, 10 splits of 83/82.
Each voxel needs 4 fits per split (the mean over repetitions, and each repetition for the
noise correction): 307 760 fits.

- ``topoaudio_zoo.brain.score_layer``: per split, one decomposition of the standardised
  training features serves all 30 776 targets and all penalties; timed in full.
- the reference protocol (``gretatuckute/auditory_brain_dnn``): one scikit-learn ``RidgeCV``
  per target (same standardisation, same grid). Too slow to run in full: timed on
  ``--reference-voxels`` voxels × 4 fits on ``--reference-splits`` splits and scaled per fit
  to all 307 760. Its test R² (raw and noise-corrected, computed from its predictions) is
  compared with ours on those voxels.

Also (``--layers``) one model's full NH2015 voxel evaluation: the 7 read-out layers of
``cochresnet18`` width 32 (3 392 … 256 time-averaged features) × 10 splits.

Peak memory: the Python-heap peak of our evaluation (``tracemalloc``, which sees numpy's
buffers) and the process's peak resident set.

    python benchmarks/brain.py [--features 50000] [--threads 1]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from itertools import combinations

import numpy as np
from sklearn.linear_model import RidgeCV
from threadpoolctl import threadpool_limits

from topoaudio_zoo.brain.protocol import (
    RV_FLOOR,
    RV_HAT_FLOOR,
    make_splits,
    pearson_columns,
    score_layer,
    spearman_brown,
)
from topoaudio_zoo.brain.ridge import RELATIVE_ALPHAS, standardize

N_SOUNDS, N_VOXELS, N_REPS = 165, 7694, 3
LAYER_SIZES = {
    "conv1_relu1": 3392,
    "maxpool1": 1696,
    "layer1": 1696,
    "layer2": 1728,
    "layer3": 1792,
    "layer4": 1792,
    "avgpool": 256,
}


def synthetic_features(latent: np.ndarray, n_features: int, seed: int) -> np.ndarray:
    """``(165, n_features)`` float32: the latents mixed, plus noise."""
    rng = np.random.default_rng(seed)
    features = latent.astype(np.float32) @ rng.standard_normal((20, n_features), np.float32)
    return features + 3 * rng.standard_normal((N_SOUNDS, n_features), dtype=np.float32)


def synthetic(n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latents ``(165, 20)``, features ``(165, n_features)`` and voxels ``(165, 7694, 3)``."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((N_SOUNDS, 20))
    features = synthetic_features(latent, n_features, seed + 1)
    signal = latent @ rng.standard_normal((20, N_VOXELS))
    signal *= rng.uniform(0.1, 1.0, N_VOXELS) / signal.std(axis=0)
    noise = rng.standard_normal((N_SOUNDS, N_VOXELS, N_REPS))
    return latent, features, signal[:, :, None] + noise


def reference_scores(
    features: np.ndarray, voxels: np.ndarray, splits: list, grid_of_split: list
) -> tuple[np.ndarray, np.ndarray, int]:
    """One RidgeCV per target, as the reference protocol: raw and corrected R², fit count."""
    n_voxels = voxels.shape[1]
    raw = np.empty((n_voxels, len(splits)))
    corrected = np.empty_like(raw)
    fits = 0
    for k, (train, test) in enumerate(splits):
        xs_train, xs_test, _ = standardize(features[train], features[test])
        for v in range(n_voxels):
            columns = [voxels[:, v].mean(axis=1)] + [voxels[:, v, i] for i in range(N_REPS)]
            predictions = []
            for y in columns:
                model = RidgeCV(alphas=grid_of_split[k]).fit(xs_train, y[train])
                predictions.append(model.predict(xs_test))
                fits += 1
            r = pearson_columns(predictions[0][:, None], columns[0][test][:, None])[0]
            raw[v, k] = max(r, 0.0) ** 2
            pairs = list(combinations(range(N_REPS), 2))
            rv = np.median(
                [np.corrcoef(voxels[train, v, i], voxels[train, v, j])[0, 1] for i, j in pairs]
            )
            rv_hat = np.median(
                [np.corrcoef(predictions[i + 1], predictions[j + 1])[0, 1] for i, j in pairs]
            )
            floor = spearman_brown(np.array(rv), RV_FLOOR)
            corrected[v, k] = raw[v, k] / (floor * spearman_brown(np.array(rv_hat), RV_HAT_FLOOR))
    return raw, corrected, fits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both sides")
    parser.add_argument("--reference-voxels", type=int, default=4)
    parser.add_argument("--reference-splits", type=int, default=2)
    parser.add_argument("--no-layers", action="store_true", help="skip the 7-layer timing")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads):
        latent, features, voxels = synthetic(args.features)
        splits = make_splits(N_SOUNDS)
        print(
            f"{N_SOUNDS} sounds x {args.features} features -> {N_VOXELS} voxels x {N_REPS} "
            f"repetitions, {len(splits)} splits, {args.threads} BLAS thread(s)"
        )
        tracemalloc.start()
        start = time.perf_counter()
        ours = score_layer(features, voxels, splits)
        ours_s = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        total_fits = N_VOXELS * (N_REPS + 1) * len(splits)
        print(f"one decomposition per split: {ours_s:.1f} s for {total_fits} fits")
        print(f"  peak Python-heap memory of the evaluation: {peak / 2**20:.0f} MiB")

        subset = slice(0, args.reference_voxels)
        ref_splits = splits[: args.reference_splits]
        grids = []
        for train, test in ref_splits:
            xs_train, _, _ = standardize(features[train], features[test])
            grids.append(RELATIVE_ALPHAS * float((xs_train**2).sum()) / len(train))
        start = time.perf_counter()
        raw, corrected, fits = reference_scores(features, voxels[:, subset], ref_splits, grids)
        reference_s = time.perf_counter() - start
        per_fit = reference_s / fits
        scaled = per_fit * total_fits
        print(
            f"one RidgeCV per target: {reference_s:.1f} s for {fits} fits "
            f"({args.reference_voxels} voxels x {N_REPS + 1} fits x {len(ref_splits)} splits), "
            f"{per_fit * 1e3:.0f} ms per fit, scaled per fit to {total_fits} fits: "
            f"{scaled:.0f} s ({scaled / 3600:.1f} h)"
        )
        k = len(ref_splits)
        raw_diff = np.abs(raw - ours.r2_raw[subset, :k]).max()
        corrected_diff = np.abs(corrected - ours.r2[subset, :k]).max()
        print(
            f"  same R² on those voxels and splits: max |difference| raw {raw_diff:.1e}, "
            f"noise-corrected {corrected_diff:.1e}"
        )
        print(f"speed-up: {scaled / ours_s:.0f}x (target >= 20x)")

        if not args.no_layers:
            start = time.perf_counter()
            for i, (layer, size) in enumerate(LAYER_SIZES.items()):
                layer_features = synthetic_features(latent, size, seed=10 + i)
                score_layer(layer_features, voxels, splits, name=layer)
            layers_s = time.perf_counter() - start
            print(
                f"one model's NH2015 voxel evaluation ({len(LAYER_SIZES)} read-out layers of "
                f"cochresnet18 w32, {sum(LAYER_SIZES.values())} features in all, x 10 splits, "
                f"features synthesised inside the timing): {layers_s:.1f} s (stretch: < 60 s)"
            )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of the process: {peak_rss:.0f} MiB")


if __name__ == "__main__":
    main()
