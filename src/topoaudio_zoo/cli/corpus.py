"""``topoaudio-zoo make-corpus {speech-commands,nsynth,backgrounds} OUT``: render an offline
corpus (see ``docs/corpora.md``)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-corpus",
        help="render an offline corpus (Speech Commands, NSynth, labelled backgrounds)",
        description=(
            "Render a corpus from Debian packages: Speech Commands v0.02 spoken by espeak-ng, "
            "NSynth (jsonwav) played by fluidsynth with the FluidR3_GM SoundFont, or a "
            "background corpus of real recordings and music labelled by sound category."
        ),
    )
    kinds = parser.add_subparsers(dest="corpus", metavar="CORPUS", required=True)

    speech = kinds.add_parser(
        "speech-commands",
        help="Speech Commands v0.02 layout, spoken by espeak-ng, Flite and Festival",
        description=(
            "Speak the Speech Commands words with many speakers (engine × voice × variant: "
            "espeak-ng accent × variant × rate × pitch; Flite and Festival voice × duration "
            "stretch × speed): OUT/<word>/<speaker>_nohash_<n>.wav (16 kHz, 1 s), "
            "validation_list.txt, testing_list.txt (with every clip of the held-out voices), "
            "generalization_list.txt (those clips), _background_noise_/."
        ),
    )
    speech.add_argument("out", type=Path, help="corpus root (absent or empty)")
    speech.add_argument("--voices", type=int, default=None, help="espeak-ng speakers (default 600)")
    speech.add_argument(
        "--engines",
        nargs="+",
        default=None,
        help="of espeak-ng, flite, festival (default: espeak-ng, the shipped models' corpus)",
    )
    speech.add_argument(
        "--heldout-voices",
        nargs="*",
        default=None,
        help="ENGINE:VOICE, or ENGINE for all its voices, all in testing "
        "(default flite:rms festival:ked_diphone)",
    )
    speech.add_argument(
        "--relist",
        action="store_true",
        help="OUT holds a corpus rendered with these arguments: rewrite only its lists, "
        "speakers.tsv and README for --heldout-voices (seconds, nothing rendered)",
    )
    speech.add_argument(
        "--variants",
        type=int,
        default=None,
        help="stretch × speed variants per Flite/Festival voice, 1-25 (default 25)",
    )
    speech.add_argument(
        "--words", nargs="+", default=None, help="words to say (default: the 35 of v0.02)"
    )
    speech.add_argument(
        "--takes", type=int, default=None, help="clips per speaker and word (default 1)"
    )
    _common(speech, "a tiny corpus for tests: 6 words × 24 speakers × 2 takes")
    speech.set_defaults(func=run_speech_commands)

    nsynth = kinds.add_parser(
        "nsynth",
        help="NSynth jsonwav layout, played by fluidsynth (FluidR3_GM)",
        description=(
            "Play 4 s notes of the SoundFont's melodic presets, mapped to the 11 NSynth "
            "families: OUT/nsynth-{train,valid,test}/examples.json and audio/<note_str>.wav "
            "(16 kHz), instruments disjoint across splits."
        ),
    )
    nsynth.add_argument("out", type=Path, help="corpus root (absent or empty)")
    nsynth.add_argument(
        "--per-family", type=int, default=None, help="notes per family (default 1100)"
    )
    nsynth.add_argument(
        "--soundfont",
        type=Path,
        default=None,
        help="SoundFont 2 file (default /usr/share/sounds/sf2/FluidR3_GM.sf2)",
    )
    _common(nsynth, "a tiny corpus for tests: 3 instruments and 6 notes per family")
    nsynth.set_defaults(func=run_nsynth)

    backgrounds = kinds.add_parser(
        "backgrounds",
        help="real recordings (Debian game data) and General-MIDI music, by sound category",
        description=(
            "Cut the recordings of Debian game packages (wesnoth-1.16-data, "
            "wesnoth-1.16-music, supertuxkart-data) and FluidSynth-rendered multi-instrument "
            "music into clips of at most 4 s (20 kHz), labelled by sound category from their "
            "paths, split train/val/test by recording: OUT/<split>/<category>/*.wav, "
            "manifest.csv (provenance and licence of every clip), sources.csv, COMPLETE. "
            "An unfinished OUT is resumed."
        ),
    )
    backgrounds.add_argument("out", type=Path, help="corpus root (absent, empty or unfinished)")
    backgrounds.add_argument(
        "--sources",
        nargs="+",
        default=None,
        help="recording folders to read (default: all; --small: wesnoth-sfx wesnoth-ui)",
    )
    backgrounds.add_argument("--no-music", action="store_true", help="no General-MIDI music")
    _common(backgrounds, "a tiny corpus for tests: wesnoth-1.16-data only, 3 short tracks")
    backgrounds.set_defaults(func=run_backgrounds)


def _common(parser: argparse.ArgumentParser, small_help: str) -> None:
    parser.add_argument("--small", action="store_true", help=small_help)
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="worker processes (default: all CPU cores)"
    )


def run_speech_commands(args: argparse.Namespace) -> int:
    from ..data.corpora import render_speech_commands

    summary = render_speech_commands(
        args.out,
        voices=args.voices,
        words=args.words,
        takes=args.takes,
        small=args.small,
        seed=args.seed,
        jobs=args.jobs,
        engines=args.engines,
        heldout_voices=args.heldout_voices,
        variants=args.variants,
        relist=args.relist,
    )
    counts = ", ".join(f"{k} {v}" for k, v in summary.split_counts.items())
    d = summary.details
    engines = ", ".join(f"{e} {n}" for e, n in d["speakers_per_engine"].items())
    print(
        f"{'relisted' if args.relist else 'wrote'} {summary.total} clips ({d['words']} words × "
        f"{d['speakers']} speakers × "
        f"{d['takes']} takes; {counts}) to {summary.out} in {summary.seconds:.1f} s\n"
        f"speakers per engine: {engines}; held-out voices: "
        f"{', '.join(d['heldout_voices']) or 'none'} ({d['generalization_clips']} clips)"
    )
    return 0


def run_nsynth(args: argparse.Namespace) -> int:
    from ..data.corpora import render_nsynth

    summary = render_nsynth(
        args.out,
        per_family=args.per_family,
        small=args.small,
        seed=args.seed,
        jobs=args.jobs,
        soundfont=args.soundfont,
    )
    counts = ", ".join(f"{k} {v}" for k, v in summary.split_counts.items())
    d = summary.details
    lines = [f"wrote {summary.total} notes ({counts}) to {summary.out} in {summary.seconds:.1f} s"]
    lines.append("instruments per family (train/valid/test):")
    for family, per_split in d["instruments_per_family"].items():
        lines.append(f"  {family:<11} {'/'.join(str(n) for n in per_split.values())}")
    if d["families_without_instruments"]:
        lines.append(
            f"families without instruments: {', '.join(d['families_without_instruments'])}"
        )
    lines.append(f"presets left out: {len(d['left_out_presets'])}")
    lines.append(f"silent notes dropped: {len(d['silent_notes'])}")
    lines.append(f"clipped notes: {len(d['clipped_notes'])}")
    print("\n".join(lines))
    return 0


def run_backgrounds(args: argparse.Namespace) -> int:
    from ..data.corpora import render_backgrounds

    summary = render_backgrounds(
        args.out,
        small=args.small,
        seed=args.seed,
        jobs=args.jobs,
        sources=args.sources,
        music=not args.no_music,
    )
    counts = ", ".join(f"{k} {v}" for k, v in summary.split_counts.items())
    lines = [f"wrote {summary.total} clips ({counts}) to {summary.out} in {summary.seconds:.1f} s"]
    lines.append("clips per category (train/val/test):")
    for category, per_split in summary.details["clips_per_category"].items():
        lines.append(f"  {category:<19} {'/'.join(str(n) for n in per_split.values())}")
    lines.append("source files left out:")
    for reason, files in summary.details["left_out"].items():
        shown = ", ".join(Path(f).name for f in files[:5]) + (", ..." if len(files) > 5 else "")
        lines.append(f"  {reason:<12} {len(files)}" + (f": {shown}" if files else ""))
    lines.append(f"(every file and why: {summary.out / 'sources.csv'})")
    print("\n".join(lines))
    return 0
