#!/usr/bin/env bash
# Export the second-generation models trained by scripts/train_w64_models.sh into zoo folders
# and measure them with the project's commands: accuracy and smoothness (`evaluate`, recorded in
# each model's config), NH2015 brain predictivity (`brain`, beside the width-32 baseline) and
# every map with its statistics (`report`, which also writes maps.json and the map figures).
# NH2015 (evaluation only) is read from $NH2015_DIR (default ../shared/data/nh2015).
#   bash scripts/evaluate_w64_models.sh [MODEL ...]   # default: the baseline and tau = 25
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
nh2015=${NH2015_DIR:-../shared/data/nh2015}
out=checkpoints/w64
baseline=baseline-cochresnet18w64
models=("${@:-$baseline topoaudio-cochresnet18w64-tau25}")
read -r -a models <<< "${models[*]}"
source scripts/report_layers.sh
mkdir -p "$out"

for name in "${models[@]}"; do
  folder=checkpoints/$name  # the wheel's models (the default and its baseline) are in the package
  [ -d "src/topoaudio_zoo/checkpoints/$name" ] && folder=src/topoaudio_zoo/checkpoints/$name
  if [ ! -f "$folder/model.safetensors" ]; then
    $zoo export "runs/cpu/$name/final.ckpt" "$folder"
  fi
  sha256sum "$folder/model.safetensors"
done

$zoo evaluate "${models[@]}" --baseline "$baseline" --max-word-drop 0.02 \
  --speech data/speech-commands-multi --background data/backgrounds --background-format backgrounds \
  --out "$out/evaluation.json" --markdown "$out/evaluation.md" --record
$zoo brain baseline-cochresnet18w32 "${models[@]}" --dataset nh2015-components \
  --reference "$baseline" --data-dir "$nh2015" --out "$out/brain"
for name in "${models[@]}"; do
  [ "$name" = "$baseline" ] && continue
  $zoo report "$name" --baseline "$baseline" --layers "${layers[@]}" --data-dir "$nh2015" \
    --brain "$out/brain" --out "$out/report-$name"
done
