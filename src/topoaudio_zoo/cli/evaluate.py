"""``topoaudio-zoo evaluate MODEL [MODEL ...]``: accuracy on held-out voices/instruments and
smoothness per topographic layer.

Evaluate models on the test split of the Word-Speaker-Noise mixtures built from a Speech
Commands-format speech corpus and an NSynth-format background corpus (the offline corpora of
`topoaudio-zoo make-corpus`): top-1 accuracy per task on held-out voices and instruments, and
the smoothness (TDANN) of every topographic layer, response-based (pure tones + test clips) and
weight-based. With --baseline, check every other model against it: smoother at every layer and
word accuracy within --max-word-drop. See topoaudio_zoo.analysis.evaluation.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .command import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "evaluate", __doc__, run)
    parser.add_argument("models", nargs="+", help="registry names, hf-hub: ids or folders")
    parser.add_argument("--speech", type=Path, default=Path("data/speech-commands"))
    parser.add_argument("--background", type=Path, default=Path("data/nsynth"))
    parser.add_argument(
        "--background-format",
        default="nsynth",
        help="layout of --background: nsynth, esc50, audio_folder or backgrounds (the corpus of "
        "`make-corpus backgrounds`)",
    )
    parser.add_argument("--seed", type=int, default=0, help="the data seed used in training")
    parser.add_argument("--speaker-holdout", type=float, default=0.1)
    parser.add_argument(
        "--snr-db",
        type=float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=None,
        help="SNR range of the test mixtures in dB (default: the first model's training range "
        "as its config records it, else -10 10)",
    )
    parser.add_argument("--cache-dir", default="data/cache")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--clips", type=int, default=256, help="test clips among the stimuli")
    parser.add_argument("--baseline", default=None, help="model to compare the others with")
    parser.add_argument("--max-word-drop", type=float, default=0.03)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument(
        "--markdown", type=Path, default=None, help="write the results as Markdown tables"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="write the accuracies into each local model folder's config.json and card",
    )


# What the background task's test split holds out, by --background-format.
_BACKGROUND_TEST = {
    "nsynth": "background family top-1 on held-out instruments",
    "backgrounds": "background category top-1 on held-out recordings",
}


def _metrics_for_config(result: dict, protocol: str, background_format: str) -> dict:
    accuracy = result["accuracy"]
    described = {
        "word_top1_heldout_voices": "word top-1 on voices held out of training",
        "word_top1_heldout_engines": "word top-1 on speech engines held out of training",
        "word_top1_all": "word top-1 on all test clips",
        "speaker_top1_all": "speaker top-1 on held-out clips of training speakers",
        "background_top1_all": _BACKGROUND_TEST.get(
            background_format, "background class top-1 on the test split"
        ),
    }
    described["background_balanced_top1_all"] = described["background_top1_all"].replace(
        "top-1", "balanced top-1 (mean recall per class)"
    )
    return {
        key: {"value": accuracy[key], "protocol": f"{text}; {protocol}"}
        for key, text in described.items()
        if key in accuracy
    }


def _training_snr(config: dict) -> tuple[float, float]:
    """The SNR range (dB) a model's config records for its training data, else -10..10 dB."""
    recorded = config.get("training", {}).get("data", {}).get("snr_db")
    return (float(recorded[0]), float(recorded[1])) if recorded else (-10.0, 10.0)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..analysis.evaluation import acceptance, evaluate_model
    from ..atomic import atomic_write_text
    from ..data import WSNDataModule
    from ..data.speech_commands import heldout_engine_speakers
    from ..zoo.registry import from_pretrained

    torch.set_grad_enabled(False)
    models = {name: from_pretrained(name) for name in args.models}
    first = next(iter(models.values()))
    snr_db = args.snr_db or _training_snr(first.config)
    datamodule = WSNDataModule(
        speech=str(args.speech),
        background=str(args.background),
        background_format=args.background_format,
        sr=first.sample_rate,
        clip_samples=first.clip_samples,
        rms=first.config["rms"],
        speaker_holdout=args.speaker_holdout,
        snr_db=snr_db,
        batch_size=args.batch_size,
        num_workers=args.num_workers,
        seed=args.seed,
        cache_dir=args.cache_dir,
    )
    datamodule.prepare_data()
    datamodule.setup("test")
    heldout_engines = heldout_engine_speakers(args.speech)
    speaker_groups = (
        {"heldout_engines": set().union(*heldout_engines.values())} if heldout_engines else {}
    )
    protocol = (
        f"WSN test split of {args.speech} + {args.background} (seed {args.seed}, "
        f"SNR {snr_db[0]:g}..{snr_db[1]:g} dB, 2 s at 20 kHz"
        + (
            f"; engines held out of training: {', '.join(sorted(heldout_engines))}"
            if heldout_engines
            else ""
        )
        + "), `topoaudio-zoo evaluate`"
    )
    results = {}
    for name, model in models.items():
        results[name] = evaluate_model(
            model, datamodule, n_clips=args.clips, speaker_groups=speaker_groups, progress=name
        )
        accuracy = results[name]["accuracy"]
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(accuracy.items())))
        for kind in ("smoothness_response", "smoothness_weight"):
            values = results[name][kind]
            print(f"  {kind}: " + ", ".join(f"{k} {v:.3f}" for k, v in values.items()))
        if args.record:
            _record(
                name,
                model,
                _metrics_for_config(results[name], protocol, args.background_format),
            )
    report = {"protocol": protocol, "results": results}
    if args.baseline is not None:
        verdicts = acceptance(results, args.baseline, args.max_word_drop)
        report["acceptance"] = {"baseline": args.baseline, "verdicts": verdicts}
        for name, verdict in verdicts.items():
            status = "PASS" if verdict["passed"] else "FAIL"
            engines = verdict.get("word_drop_heldout_engines")
            print(
                f"{status} {name} vs {args.baseline}: word accuracy drop "
                f"{100 * verdict['word_drop']:.2f} points (held-out voices)"
                + (
                    f", {100 * engines:.2f} points (held-out engines)"
                    if engines is not None
                    else ""
                )
                + f"; not smoother at {verdict['not_smoother'] or 'no layer'}"
            )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, json.dumps(report, indent=2))
        print(f"wrote {args.out}")
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.markdown, markdown_report(report))
        print(f"wrote {args.markdown}")
    return 0


def markdown_report(report: dict) -> str:
    """Accuracy, smoothness per layer and (if any) the acceptance verdicts as Markdown."""
    results = report["results"]
    names = list(results)
    keys = sorted({key for result in results.values() for key in result["accuracy"]})
    lines = [f"Protocol: {report['protocol']}.", "", "| model | " + " | ".join(keys) + " |"]
    lines.append("|---" * (len(keys) + 1) + "|")
    for name in names:
        values = [f"{100 * results[name]['accuracy'][key]:.1f} %" for key in keys]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    for kind, label in (("smoothness_response", "response"), ("smoothness_weight", "weight")):
        lines += ["", f"Smoothness ({label}-based), per topographic layer:", ""]
        lines.append("| layer | " + " | ".join(names) + " |")
        lines.append("|---" * (len(names) + 1) + "|")
        for layer in results[names[0]][kind]:
            cells = [f"{results[name][kind][layer]:.3f}" for name in names]
            lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    if "acceptance" in report:
        baseline = report["acceptance"]["baseline"]
        lines += ["", f"Acceptance against {baseline}:", ""]
        for name, verdict in report["acceptance"]["verdicts"].items():
            status = "PASS" if verdict["passed"] else "FAIL"
            worse = ", ".join(verdict["not_smoother"]) or "none"
            engines = verdict.get("word_drop_heldout_engines")
            lines.append(
                f"- {status} {name}: word accuracy on held-out voices "
                f"{-100 * verdict['word_drop']:+.1f} points"
                + (
                    f", on held-out engines {-100 * engines:+.1f} points"
                    if engines is not None
                    else ""
                )
                + f"; layers not smoother: {worse}"
            )
    return "\n".join(lines) + "\n"


def _record(name: str, model, metrics: dict) -> None:
    from ..zoo.registry import get_entry

    folder = Path(name) if Path(name).is_dir() else get_entry(name).local_path()
    if folder is None:
        raise ValueError(f"--record: {name} is not a local model folder")
    model.config["metrics"] = metrics
    model.write_config_and_card(folder)
