"""HEAR timestamp embeddings of long audio: peak memory and speed against the audio's length.

Model: ``cochresnet18`` width 8, untrained (the weights do not change the cost), 2-s windows at
20 kHz, CPU, ``--threads`` intra-op threads. For each length of ``--minutes``, a fresh process
embeds one sound of white noise at 16 kHz with
:func:`topoaudio_zoo.hear.get_timestamp_embeddings` and reports the growth of its peak RSS over
its peak after the audio's allocation and a warm-up on its first full batch of windows, next
to the sizes of the input and of the embeddings: bounded memory means the growth stays near
the output's size whatever the length.

    python benchmarks/hear.py [--threads 1] [--minutes 1 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from topoaudio_zoo import create_model, hear


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(minutes: float) -> None:
    """One measurement, in its own process."""
    torch.manual_seed(0)
    model = hear.HearModel(create_model("cochresnet18", width=8, heads={}).eval())
    audio = torch.randn(1, round(minutes * 60 * model.sample_rate)).mul_(0.1)
    warm_up = model.window_batch * model.step * model.hop  # one full batch of windows
    hear.get_timestamp_embeddings(audio[:, :warm_up], model)
    before = _peak_rss_mb()
    wall = time.perf_counter()
    embeddings, _ = hear.get_timestamp_embeddings(audio, model)
    wall = time.perf_counter() - wall
    print(json.dumps({
        "minutes": minutes,
        "rss_growth_mb": _peak_rss_mb() - before,
        "input_mb": audio.nbytes / 2**20,
        "output_mb": embeddings.nbytes / 2**20,
        "frames": embeddings.shape[1],
        "seconds": wall,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--minutes", type=float, nargs="+", default=[1.0, 20.0])
    parser.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker is not None:
        worker(args.worker)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, cochresnet18 width 8")
    print(f"{'minutes':>8}{'frames':>8}{'RSS growth MB':>15}{'input MB':>10}{'output MB':>11}"
          f"{'s':>8}{'× real time':>13}")  # fmt: skip
    for minutes in args.minutes:
        command = [sys.executable, __file__, "--worker", str(minutes), "--threads",
                   str(args.threads)]  # fmt: skip
        report = json.loads(subprocess.run(command, capture_output=True, text=True,
                                           check=True).stdout.splitlines()[-1])  # fmt: skip
        print(
            f"{minutes:>8g}{report['frames']:>8}{report['rss_growth_mb']:>15.1f}"
            f"{report['input_mb']:>10.1f}{report['output_mb']:>11.1f}{report['seconds']:>8.1f}"
            f"{minutes * 60 / report['seconds']:>13.1f}"
        )


if __name__ == "__main__":
    main()
