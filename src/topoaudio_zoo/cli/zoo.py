"""The model-zoo subcommands: ``list``, ``export``, ``publish`` and ``download``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser(
        "list",
        help="list the zoo's models (works offline)",
        description="Registered models matching a pattern, with where their weights are.",
    )
    listing.add_argument("pattern", nargs="?", default="*", help="shell-style, e.g. 'topo*'")
    listing.add_argument(
        "--pretrained", action="store_true", help="only models with weights (shipped or on Hub)"
    )
    listing.set_defaults(func=run_list)

    export = subparsers.add_parser(
        "export",
        help="Lightning checkpoint → model folder (safetensors, config.json, model card)",
        description=(
            "Read a TopoAudioModule checkpoint with torch.load(weights_only=True) and write "
            "model.safetensors, config.json and a README.md model card into OUT_DIR. Given a "
            "model folder instead, load it strictly and write a copy (e.g. with --float16); "
            "the copy keeps the source's recorded metrics unless --metrics is given."
        ),
    )
    export.add_argument("checkpoint", type=Path, metavar="LIGHTNING_CKPT_OR_MODEL_DIR")
    export.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    export.add_argument(
        "--metrics",
        type=Path,
        help='JSON object {name: value or {"value": v, "protocol": "how it was measured"}}',
    )
    export.add_argument("--name", help="the model's name (default: the one it was trained with)")
    export.add_argument(
        "--description",
        help="the model's one-line description (default: the one it was trained with)",
    )
    export.add_argument(
        "--float16", action="store_true", help="store float16 tensors (loaded back as float32)"
    )
    export.set_defaults(func=run_export)

    publish = subparsers.add_parser(
        "publish",
        help="push a model folder to the Hugging Face Hub (after loading it strictly)",
        description=(
            "Check that DIR loads as a zoo model, create the repository (and branch) if "
            "needed, and upload config.json, model.safetensors and README.md in one commit."
        ),
    )
    publish.add_argument("folder", type=Path, metavar="DIR")
    publish.add_argument("--repo-id", required=True, metavar="ORG/NAME")
    publish.add_argument("--revision", metavar="BRANCH", help="branch to commit to (main)")
    publish.add_argument("--private", action="store_true", help="create the repository private")
    publish.add_argument(
        "--token", help="Hub token (default: HF_TOKEN, then the one saved by `hf auth login`)"
    )
    publish.set_defaults(func=run_publish)

    download = subparsers.add_parser(
        "download",
        help="fetch a model into the Hub cache for offline use, and check it loads",
        description=(
            "Download a model (registry name or hf-hub:ORG/NAME[@REV]) into the Hugging Face "
            "cache and load it strictly; later loads then work with HF_HUB_OFFLINE=1."
        ),
    )
    download.add_argument("name", metavar="NAME")
    download.add_argument("--revision", help="branch, tag or commit (default: the pinned one)")
    download.add_argument("--cache-dir", type=Path, help="Hub cache folder (default HF_HUB_CACHE)")
    download.add_argument("--force", action="store_true", help="download again even if cached")
    download.set_defaults(func=run_download)


def run_list(args: argparse.Namespace) -> int:
    from ..zoo import get_entry, list_models

    names = list_models(args.pattern, pretrained=args.pretrained)
    if not names:
        print(f"no models match {args.pattern!r}" + (" with weights" if args.pretrained else ""))
        return 0
    width = max(len(name) for name in names)
    for name in names:
        entry = get_entry(name)
        where = []
        if entry.local_path() is not None:
            where.append("local")
        if entry.hub_repo is not None:
            where.append(f"hub:{entry.hub_repo}@{entry.revision or 'main'}")
        weights = ", ".join(where) or "no weights"
        print(f"{name:<{width}}  [{weights}]  {entry.description}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..training.export import export_checkpoint, export_folder, read_metrics

    metrics = read_metrics(args.metrics) if args.metrics is not None else None
    export = export_folder if args.checkpoint.is_dir() else export_checkpoint
    model = export(
        args.checkpoint,
        args.out_dir,
        metrics=metrics,
        name=args.name,
        float16=args.float16,
        description=args.description,
    )
    dtype = "float16" if args.float16 else "float32"
    print(
        f"wrote {args.out_dir}: model.safetensors ({dtype}, {model.num_parameters():,} "
        f"parameters), config.json, README.md"
    )
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from ..zoo.publish import publish_folder

    published = publish_folder(
        args.folder,
        args.repo_id,
        revision=args.revision,
        private=args.private,
        token=args.token,
    )
    print(f"published {', '.join(published.files)} to {published.repo_url}")
    print(f"commit {published.commit} ({published.commit_url})")
    if published.skipped:
        print(f"not uploaded: {', '.join(published.skipped)}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ..zoo import HubOptions, TopoAudioModel, locate_model_files

    hub = HubOptions(revision=args.revision, cache_dir=args.cache_dir, force_download=args.force)
    folder, label = locate_model_files(args.name, hub)
    TopoAudioModel.from_folder(folder, label=label)
    extra = f", revision={args.revision!r}" if args.revision else ""
    extra += f", cache_dir={str(args.cache_dir)!r}" if args.cache_dir else ""
    print(f"{label}: {folder}")
    print(
        f"it loads offline now: from_pretrained({args.name!r}{extra}, local_files_only=True) "
        "or with HF_HUB_OFFLINE=1"
    )
    return 0
