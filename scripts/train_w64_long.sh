#!/usr/bin/env bash
# Issue 17's longer schedule: the full-width baseline, TopoAudio tau = 25 and tau = 5 trained for
# 1 500 steps (configs/cpu/w64-long.yaml) in bf16 (configs/cpu/bf16.yaml, under glibc's allocator
# settings), one after the other, same data and seed. Each is exported to runs/long/<run>/model;
# the baseline and tau = 25 are first measured like the 750-step models
# (scripts/evaluate_w64_models.sh), into checkpoints/w64/long/: accuracy and smoothness
# (`evaluate`, evaluation.{json,md}), NH2015 brain predictivity (`brain`, brain/) and every map
# with its statistics (`report`, report-tau25/). scripts/ship_w64_long.sh then makes the three
# runs zoo models (float16) and measures them there. A fourth run, tau = 100 from scratch
# (configs/cpu/w64-tau100.yaml), is a speech/music lever, not a zoo model: its maps against the
# baseline go to report-tau100/ and its accuracy to evaluation-tau100.{json,md}. Fit
# times go to checkpoints/w64/long/time-<run>.txt and training logs to
# checkpoints/training_logs/long/<run>/. Rerunning resumes: an exported run is skipped, an
# interrupted one continues from its last checkpoint (every 100 steps), a measurement already
# written is not redone. Needs the corpora of scripts/train_w64_models.sh and NH2015 in
# $NH2015_DIR (default ../shared/data/nh2015; evaluation only).
#   bash scripts/train_w64_long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
nh2015=${NH2015_DIR:-../shared/data/nh2015}
out=checkpoints/w64/long
logs=checkpoints/training_logs/long
export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483648
mkdir -p "$out" "$logs" runs/long

train() {  # train RUN [OVERLAY]: one 1 500-step bf16 run, resumed if it was interrupted
  local run=$1 overlay=${2:-} dir=runs/long/$1 last final start
  [ -f "$dir/model/model.safetensors" ] && { echo "$run: exported earlier ($dir/model)"; return; }
  local args=(fit --config configs/cpu/wsn-augmented.yaml --config configs/cpu/w64.yaml)
  [ -n "$overlay" ] && args+=(--config "$overlay")
  args+=(--config configs/cpu/w64-long.yaml --config configs/cpu/bf16.yaml
    --trainer.logger.init_args.name "$run" --model.name "$run"
    --model.description "Longer-schedule check (1 500 steps, bf16) of the full-width recipe. Not a zoo model.")
  last=$(ls -t "$dir"/version_*/checkpoints/last.ckpt 2>/dev/null | head -n 1 || true)
  [ -n "$last" ] && args+=(--ckpt_path "$last") && echo "$run: resuming from $last"
  echo "$run: training ($(date -Is))"
  start=$(date +%s)
  $zoo "${args[@]}" >> "runs/long/$run.log" 2>&1
  echo "$run: 1500 steps, this segment $(( $(date +%s) - start )) s (fit wall time, start-up" \
    "and validation included)" | tee -a "$out/time-$run.txt"
  final=$(ls -t "$dir"/version_*/checkpoints/*.ckpt | head -n 1)  # the newest: end of the budget
  $zoo export "$final" "$dir/model"
  local version
  for version in "$dir"/version_*; do
    mkdir -p "$logs/$run/$(basename "$version")"
    cp "$version/metrics.csv" "$version/hparams.yaml" "$logs/$run/$(basename "$version")/"
  done
}

train baseline-cochresnet18w64-long
train topoaudio-cochresnet18w64-tau25-long configs/cpu/w64-tau25.yaml
train topoaudio-cochresnet18w64-tau5-long configs/cpu/w64-tau5.yaml
train topoaudio-cochresnet18w64-tau100-long configs/cpu/w64-tau100.yaml
baseline=runs/long/baseline-cochresnet18w64-long/model
tau25=runs/long/topoaudio-cochresnet18w64-tau25-long/model
tau100=runs/long/topoaudio-cochresnet18w64-tau100-long/model
source scripts/report_layers.sh
[ -f "$out/evaluation.json" ] || $zoo evaluate "$baseline" "$tau25" --baseline "$baseline" \
  --max-word-drop 0.02 --speech data/speech-commands-multi --background data/backgrounds \
  --background-format backgrounds --out "$out/evaluation.json" --markdown "$out/evaluation.md"
[ -f "$out/brain/brain.json" ] || $zoo brain "$baseline" "$tau25" --dataset nh2015-components \
  --reference "$baseline" --data-dir "$nh2015" --out "$out/brain"
[ -f "$out/report-tau25/report.md" ] || $zoo report "$tau25" --baseline "$baseline" \
  --layers "${layers[@]}" --data-dir "$nh2015" --brain "$out/brain" --out "$out/report-tau25"
[ -f "$out/report-tau100/report.md" ] || $zoo report "$tau100" --baseline "$baseline" \
  --layers "${layers[@]}" --data-dir "$nh2015" --brain "$out/brain" --out "$out/report-tau100"
[ -f "$out/evaluation-tau100.json" ] || $zoo evaluate "$tau100" --speech data/speech-commands-multi \
  --background data/backgrounds --background-format backgrounds \
  --out "$out/evaluation-tau100.json" --markdown "$out/evaluation-tau100.md"
cat "$out/evaluation.md"
