#!/usr/bin/env bash
# Issue 17: may the full-width models be stored as float16 ("float16 storage only if evaluation
# is unchanged")? Writes a float16 copy of each named model (default: the full-width baseline and
# TopoAudio tau = 5) to runs/float16/<name> with `topoaudio-zoo export --float16`, then scores the
# float32 models and their float16 copies in one `topoaudio-zoo evaluate` run, side by side, on
# the test split of scripts/evaluate_w64_models.sh. Writes checkpoints/w64/float16/evaluation.md
# (and .json). Needs the corpora of scripts/train_w64_models.sh.
#   bash scripts/float16_check.sh [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
out=checkpoints/w64/float16
models=("$@")
[ "${#models[@]}" -gt 0 ] || models=(baseline-cochresnet18w64 topoaudio-cochresnet18w64-tau5)
mkdir -p "$out" runs/float16
scored=()
for name in "${models[@]}"; do
  $zoo export "checkpoints/$name" "runs/float16/$name" --float16
  scored+=("$name" "runs/float16/$name")
done
$zoo evaluate "${scored[@]}" --speech data/speech-commands-multi --background data/backgrounds \
  --background-format backgrounds --out "$out/evaluation.json" --markdown "$out/evaluation.md"
