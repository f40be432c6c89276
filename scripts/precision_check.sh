#!/usr/bin/env bash
# Issue 17's accuracy check of the faster CPU recipe: the short full-width TopoAudio tau = 5 run
# (configs/cpu/w64-short.yaml, 300 steps) trained in float32, then with configs/cpu/bf16.yaml on
# top (bf16 autocast + channels_last), from the same seed and data, each under glibc's allocator
# settings; then the bf16 run again from another seed (seed_everything 1; the data split is the
# data module's seed, unchanged), which measures how far two runs differ for reasons other than
# the precision. All three are evaluated on the test split by `topoaudio-zoo evaluate`. Writes
# checkpoints/w64/precision/{evaluation.json,evaluation.md,time-*.txt} and copies the training logs
# to checkpoints/training_logs/precision/. Needs the corpora of scripts/train_w64_models.sh.
# A run already exported to runs/precision/<recipe>/model is not trained again.
#   bash scripts/precision_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
out=checkpoints/w64/precision
logs=checkpoints/training_logs/precision
recipe=(--config configs/cpu/wsn-augmented.yaml --config configs/cpu/w64.yaml
        --config configs/cpu/w64-tau5.yaml --config configs/cpu/w64-short.yaml)
export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483648
mkdir -p "$out" "$logs" runs/precision

for precision in fp32 bf16 bf16-seed1; do
  run=runs/precision/$precision
  [ -f "$run/model/model.safetensors" ] && { echo "$precision: exported earlier ($run/model)"; continue; }
  args=(fit "${recipe[@]}")
  [ "$precision" != fp32 ] && args+=(--config configs/cpu/bf16.yaml
    --trainer.logger.init_args.name "$precision" --model.name "w64-tau5-short-$precision")
  [ "$precision" = bf16-seed1 ] && args+=(--seed_everything 1)
  rm -rf "$run"
  echo "$precision: training ($(date -Is))"
  start=$(date +%s)
  $zoo "${args[@]}" > "runs/precision/$precision.log" 2>&1
  seconds=$(( $(date +%s) - start ))
  echo "$precision: 300 steps in $seconds s (fit wall time, start-up and validation included)" \
    | tee "$out/time-$precision.txt"
  final=$(ls -t "$run"/version_*/checkpoints/*.ckpt | head -n 1)  # the newest: end of the budget
  $zoo export "$final" "$run/model"
  mkdir -p "$logs/$precision"
  cp "$run"/version_0/metrics.csv "$run"/version_0/hparams.yaml "$logs/$precision/"
done

$zoo evaluate runs/precision/fp32/model runs/precision/bf16/model runs/precision/bf16-seed1/model \
  --speech data/speech-commands-multi --background data/backgrounds --background-format backgrounds \
  --out "$out/evaluation.json" --markdown "$out/evaluation.md"
