"""``topoaudio-zoo demo --out DIR``: cochleagram and tonotopy figures of the shipped models (no
network needed).

1. The cochleagram of a synthesised sound (harmonic tones, then amplitude-modulated noise).
2. Tonotopy: log-spaced pure tones (50 Hz – 8 kHz) played to the embedded default TopoAudio
   model and its non-topographic baseline (both shipped in ``checkpoints/``); every unit of every
   topographic layer gets its best frequency; the maps are drawn on the cortical sheets with a
   log-frequency colour bar (rows: the two models), and each map's Moran's I and the TDANN
   smoothness of its tuning curves are printed and shown with their p-values against units
   shuffled on the sheet (topoaudio_zoo.maps; `topoaudio-zoo maps` gives every other map).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .command import add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..zoo.registry import DEFAULT_BASELINE, DEFAULT_MODEL

    parser = add_command(subparsers, "demo", __doc__, run)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    parser.add_argument("--model", default=None, help=f"TopoAudio model ({DEFAULT_MODEL})")
    parser.add_argument("--baseline", default=None, help=f"baseline model ({DEFAULT_BASELINE})")
    parser.add_argument("--tones", type=int, default=48, help="pure tones, 50 Hz to 8 kHz")
    parser.add_argument(
        "--permutations", type=int, default=1000, help="draws of the sheet-permutation null"
    )


def _cochleagram_figure(out: Path) -> list[Path]:
    import soundfile as sf

    from ..atomic import atomic_path
    from ..cochleagram import Cochleagram
    from ..plotting import plot_cochleagram
    from ..stimuli import demo_sound

    front = Cochleagram()
    sound = demo_sound(sr=front.sr, duration=front.config.duration)
    wav = out / "demo_sound.wav"
    with atomic_path(wav) as tmp:
        sf.write(tmp, sound.numpy(), front.sr, subtype="PCM_16", format="WAV")
    png = plot_cochleagram(
        front(sound)[0].numpy(),
        front.cf,
        front.env_sr,
        out / "cochleagram.png",
        title="demo sound: harmonic tones, then 8 Hz AM noise (cochleagram_1)",
        frame_offset=front.config.window_size / 2 / front.sr,
    )
    return [wav, png]


def _tonotopy_figures(
    out: Path, names: dict[str, str], n_tones: int, n_permutations: int
) -> list[Path]:
    from ..maps import ModelMaps, family_maps, tone_family
    from ..maps.plots import plot_tuning_maps
    from ..zoo.registry import from_pretrained

    models = {label: from_pretrained(name) for label, name in names.items()}
    first = next(iter(models.values()))
    family = tone_family(first, count=n_tones)
    layers = first.topographic_loss().layer_names
    maps = {
        label: ModelMaps(
            label,
            layers,
            n_permutations,
            {"tonotopy": family_maps(m, family, layers, n_permutations)},
        )
        for label, m in models.items()
    }
    print(
        f"best-frequency maps ({n_tones} pure tones, 50 Hz – 8 kHz): Moran's I of the map and "
        f"smoothness of the tuning curves, p against {n_permutations} sheet permutations"
    )
    print(f"  {'layer':<22}" + "".join(f"{label:>44}" for label in maps))
    for index, layer in enumerate(layers):
        cells = []
        for result in maps.values():
            item = result.tuning["tonotopy"][index]
            i, smooth = item.morans_i, item.smoothness
            cells.append(
                f"I {i.value:5.2f} (p={i.p_value:.3f})  sm. {smooth.value:5.2f} "
                f"(p={smooth.p_value:.3f})"
            )
        print(f"  {layer:<22}" + "".join(f"{cell:>44}" for cell in cells))
    stages = sorted({layer.split(".")[0] for layer in layers})
    last_of_stage = [max(i for i, ly in enumerate(layers) if ly.startswith(s)) for s in stages]

    def subset(indices: list[int]) -> list[ModelMaps]:
        return [
            ModelMaps(m.model, [layers[i] for i in indices], n_permutations,
                      {"tonotopy": [m.tuning["tonotopy"][i] for i in indices]})
            for m in maps.values()
        ]  # fmt: skip

    written = [
        plot_tuning_maps(
            subset(last_of_stage),
            "tonotopy",
            out / "tonotopy.png",
            title="Best frequency of every unit on its sheet (last conv of each stage)",
        )
    ]
    for stage in stages:
        rows = [i for i, layer in enumerate(layers) if layer.startswith(stage + ".")]
        written.append(
            plot_tuning_maps(
                subset(rows),
                "tonotopy",
                out / f"tonotopy_{stage}.png",
                title=f"Best-frequency maps, {stage} (rows: models)",
            )
        )
    return written


def run(args: argparse.Namespace) -> int:
    from ..zoo.registry import DEFAULT_BASELINE, DEFAULT_MODEL, get_entry

    args.out.mkdir(parents=True, exist_ok=True)
    written = _cochleagram_figure(args.out)
    model, baseline = args.model or DEFAULT_MODEL, args.baseline or DEFAULT_BASELINE
    defaults_missing = [
        name
        for name, given in ((model, args.model), (baseline, args.baseline))
        if given is None and get_entry(name).local_path() is None
    ]
    if defaults_missing:
        print(f"tonotopy skipped: no shipped weights for {', '.join(defaults_missing)}")
    else:
        labels = {f"TopoAudio {model}": model, f"baseline {baseline}": baseline}
        written += _tonotopy_figures(args.out, labels, args.tones, args.permutations)
    print("\n".join(f"wrote {path}" for path in written))
    return 0
