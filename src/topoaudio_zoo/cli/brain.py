"""``topoaudio-zoo brain MODEL [MODEL ...] --dataset D --out DIR``: brain predictivity (NH2015
components, NH2015/B2021 voxels) by ridge regression.

Predict human auditory fMRI responses to the 165 NH2015 natural sounds from each layer of each
MODEL under the protocol of Tuckute et al. (2023): time-averaged features, ridge regression with
the penalty chosen by exact leave-one-out, 10 splits of 83/82 sounds, best layer chosen on
held-out splits. The time-averaged cochleagram is always scored as an anchor. Writes brain.json
(per-layer and best-layer R² keyed by component or ROI), brain.md and PNG figures into --out.
See topoaudio_zoo.brain.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..atomic import atomic_write_text
from .command import add_command

DATASETS = ("nh2015-components", "nh2015", "b2021")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "brain", __doc__, run)
    parser.add_argument(
        "models",
        nargs="+",
        help="registry names, hf-hub: ids, model folders, or untrained:NAME (NAME's "
        "architecture with random weights, seeded by --seed)",
    )
    parser.add_argument("--dataset", choices=DATASETS, default="nh2015-components")
    parser.add_argument(
        "--layers", nargs="+", help="read-outs of every model (default: every read-out stage)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="NH2015 sounds and components (wav/, category_labels.csv, components.mat; "
        "default ~/.cache/topoaudio_zoo/nh2015)",
    )
    parser.add_argument(
        "--neural-dir",
        type=Path,
        default=None,
        help="Tuckute et al. 2023 release (neural/NH2015, neural/B2021) for voxel datasets",
    )
    parser.add_argument("--download", action="store_true", help="fetch missing data, verified")
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the SHA-256 check of the NH2015 files (a folder of your own in that layout)",
    )
    parser.add_argument(
        "--trust-roi-pickle",
        action="store_true",
        help="read df_roi_meta.pkl for ROIs (and B2021 participants): unpickling runs code "
        "from the file, so only for a file you trust (needs pandas)",
    )
    parser.add_argument(
        "--reference",
        default=None,
        help="one of the MODELs (or cochleagram): report every other model's paired difference "
        "from it with a sign-flip test",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args: argparse.Namespace) -> int:
    import torch
    from threadpoolctl import threadpool_limits

    from ..brain.report import markdown_report, plot_best_layers, plot_layers
    from ..brain.run import brain_predictivity

    if args.reference is not None and args.reference not in [*args.models, "cochleagram"]:
        raise ValueError(f"--reference: {args.reference!r} is not one of the models")
    if args.threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {args.threads}")
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        results = brain_predictivity(
            args.models,
            dataset=args.dataset,
            layers=args.layers,
            data_dir=args.data_dir,
            neural_dir=args.neural_dir,
            download=args.download,
            roi_pickle=args.trust_roi_pickle,
            verify=not args.no_verify,
            seed=args.seed,
            progress=not args.no_progress,
        )
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "brain.json", json.dumps(results, indent=2) + "\n")
    report = markdown_report(results, args.reference)
    atomic_write_text(args.out / "brain.md", report)
    plot_layers(results, args.out / "brain_layers.png")
    plot_best_layers(results, args.out / "brain_best_layer.png")
    print(report)
    print(f"wrote {args.out}/brain.json, brain.md, brain_layers.png, brain_best_layer.png")
    return 0
