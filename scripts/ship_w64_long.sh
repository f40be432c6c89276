#!/usr/bin/env bash
# Issue 17: the 1 500-step bf16 runs of scripts/train_w64_long.sh become zoo models. Each run is
# copied as float16 (`topoaudio-zoo export --float16`) into its zoo folder: the baseline and
# TopoAudio tau = 5 (the embedded default) into the package, tau = 25 into checkpoints/. Then, once
# they are registered with the printed sha256 (src/topoaudio_zoo/zoo/registry.py), they are
# measured with the project's commands into checkpoints/w64/long/shipped/:
#   - `evaluate --record` (accuracy and smoothness, recorded in each config) of the three float16
#     models and of tau = 5's float32 run: with checkpoints/w64/long/evaluation.json (the float32
#     baseline and tau = 25) it says whether float16 storage left the evaluation unchanged;
#   - `brain` (NH2015 components, beside the width-32 baseline) and `report` (every map with its
#     statistics) for each TopoAudio model against the baseline.
# A folder or file already written is not redone. NH2015 (evaluation only) is read from
# $NH2015_DIR (default ../shared/data/nh2015). Needs the corpora of scripts/train_w64_models.sh.
#   bash scripts/ship_w64_long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
nh2015=${NH2015_DIR:-../shared/data/nh2015}
out=checkpoints/w64/long/shipped
baseline=baseline-cochresnet18w64-long
tau5=topoaudio-cochresnet18w64-tau5-long
tau25=topoaudio-cochresnet18w64-tau25-long
recipe="CochResNet18 at full width (base 64), trained on CPU for 1 500 steps in bf16 autocast with \
channels_last (configs/cpu/w64.yaml, w64-long.yaml, bf16.yaml) on Word-Speaker-Noise data of the \
offline sound world (espeak-ng and Flite words, Festival and Flite rms held out, over real \
recordings and General-MIDI music, 8 sound categories) with augmentation; stored as float16."
declare -A folder=(
  [$baseline]=src/topoaudio_zoo/checkpoints/$baseline
  [$tau5]=src/topoaudio_zoo/checkpoints/$tau5
  [$tau25]=checkpoints/$tau25
)
declare -A kind=(
  [$baseline]="Non-topographic baseline (tau = 0)"
  [$tau5]="TopoAudio model (TopoLoss tau = 5, phi = 2 on every conv of every residual block)"
  [$tau25]="TopoAudio model (TopoLoss tau = 25, phi = 2 on every conv of every residual block)"
)
source scripts/report_layers.sh
mkdir -p "$out"

for name in "$baseline" "$tau5" "$tau25"; do
  if [ ! -f "${folder[$name]}/model.safetensors" ]; then
    $zoo export "runs/long/$name/model" "${folder[$name]}" --float16 \
      --description "${kind[$name]}: $recipe"
  fi
  sha256sum "${folder[$name]}/model.safetensors"
done

[ -f "$out/evaluation.json" ] || $zoo evaluate "$baseline" "$tau5" "$tau25" \
  "runs/long/$tau5/model" --baseline "$baseline" --max-word-drop 0.02 \
  --speech data/speech-commands-multi --background data/backgrounds --background-format backgrounds \
  --out "$out/evaluation.json" --markdown "$out/evaluation.md" --record
[ -f "$out/brain/brain.json" ] || $zoo brain baseline-cochresnet18w32 "$baseline" "$tau5" "$tau25" \
  --dataset nh2015-components --reference "$baseline" --data-dir "$nh2015" --out "$out/brain"
for name in "$tau25" "$tau5"; do
  [ -f "$out/report-$name/report.md" ] || $zoo report "$name" --baseline "$baseline" \
    --layers "${layers[@]}" --data-dir "$nh2015" --brain "$out/brain" --out "$out/report-$name"
done
cat "$out/evaluation.md"
