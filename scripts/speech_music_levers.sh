#!/usr/bin/env bash
# Levers for speech/music clustering beyond the label-permutation null (issue 17). A lever is a
# recipe overlay, configs/cpu/w64-tau25-lever-LEVER.yaml, that continues TopoAudio tau = 25 with
# one setting changed; its run is exported outside the zoo (runs/levers/LEVER/model) and mapped at
# the report's layers beside tau = 25 itself, the maps (Markdown, JSON, figures) written to
# checkpoints/w64/levers/LEVER/, its training log (metrics.csv, hparams.yaml) copied to
# checkpoints/training_logs/levers/LEVER/. A lever already exported is only mapped again.
# Needs the corpora of scripts/train_w64_models.sh and NH2015 in $NH2015_DIR (evaluation only).
#   bash scripts/speech_music_levers.sh LEVER [LEVER ...]   # e.g. background1 tau100 phi4
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
nh2015=${NH2015_DIR:-../shared/data/nh2015}
source=topoaudio-cochresnet18w64-tau25
source scripts/report_layers.sh
[ "$#" -gt 0 ] || { echo "usage: scripts/speech_music_levers.sh LEVER [LEVER ...]" >&2; exit 2; }

for lever in "$@"; do
  overlay=configs/cpu/w64-tau25-lever-$lever.yaml
  run=runs/levers/$lever
  [ -f "$overlay" ] || { echo "$lever: no recipe $overlay" >&2; exit 2; }
  if [ ! -f "$run/model/model.safetensors" ]; then
    mkdir -p "$run"
    echo "$lever: training ($(date -Is))"
    $zoo fit --config configs/cpu/wsn-augmented.yaml --config configs/cpu/w64.yaml \
      --config configs/cpu/w64-tau25.yaml --config "$overlay" >> "$run.log" 2>&1
    final=$(ls -t "$run"/version_*/checkpoints/*.ckpt | head -n 1)  # the newest: end of the budget
    $zoo export "$final" "$run/model"
    mkdir -p "checkpoints/training_logs/levers/$lever"
    version=$(dirname "$(dirname "$final")")
    cp "$version/metrics.csv" "$version/hparams.yaml" "checkpoints/training_logs/levers/$lever/"
  fi
  $zoo maps "$run/model" --baseline "$source" --layers "${layers[@]}" --data-dir "$nh2015" \
    --components 0 --out "checkpoints/w64/levers/$lever"
done
