"""Wall time of ``import topoaudio_zoo`` in a fresh interpreter, and what the import loads.

Each round starts a new Python process (so nothing is cached in memory but the OS page cache)
and times the import alone, inside the process, after the interpreter has started. The median
of ``--repeats`` rounds is printed, after one warm-up round, with the heavy modules the import
left in ``sys.modules``. ``--pythonpath`` times another source tree (e.g. an older checkout's
``src``) with the same interpreter, for a before/after comparison in one run.

    python benchmarks/import_time.py [--repeats 9] [--pythonpath OLD/src]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = """
import json, sys, time
start = time.perf_counter()
import topoaudio_zoo
elapsed = time.perf_counter() - start
heavy = [m for m in ("torch", "torchaudio", "lightning", "matplotlib") if m in sys.modules]
print(json.dumps({"seconds": elapsed, "heavy": heavy, "file": topoaudio_zoo.__file__}))
"""


def time_import(pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"import failed (PYTHONPATH={pythonpath}):\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--pythonpath", help="another source tree to time beside this one")
    args = parser.parse_args()
    trees = {"this tree": None}
    if args.pythonpath:
        trees["--pythonpath"] = args.pythonpath
    for path in trees.values():
        time_import(path)
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.repeats):
        for name, path in trees.items():
            report = time_import(path)
            times[name].append(report["seconds"])
    for name, path in trees.items():
        report = time_import(path)
        print(
            f"{name}: import topoaudio_zoo median {statistics.median(times[name]):.3f} s "
            f"(min {min(times[name]):.3f}, max {max(times[name]):.3f}, {args.repeats} runs); "
            f"loads {report['heavy'] or 'none of torch/torchaudio/lightning/matplotlib'}; "
            f"from {report['file']}"
        )


if __name__ == "__main__":
    main()
