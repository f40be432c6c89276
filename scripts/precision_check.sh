#!/usr/bin/env bash
# Issue 17's accuracy check of the faster CPU recipe: the short full-width TopoAudio tau = 5 run
# (configs/cpu/w64-short.yaml, 300 steps) trained in float32 and with configs/cpu/bf16.yaml on
# top (bf16 autocast + channels_last), each under glibc's allocator settings, from seeds 0, 1
# and 2 (seed_everything; the data split is the data module's seed, unchanged), so that each
# seed gives one bf16 - float32 difference and the seeds give the run-to-run spread; then the
# whole 750-step recipe in bf16 from seeds 0 and 1 (bf16-full, bf16-full-seed1), to set beside
# the shipped float32 model of that recipe (seed 0).
# Runs: fp32, bf16 (seed 0), bf16-seed1, fp32-seed1, bf16-seed2, fp32-seed2, bf16-full and
# bf16-full-seed1. `topoaudio-zoo evaluate` scores them on the test split, into
# checkpoints/w64/precision/:
#   evaluation.{json,md}             fp32, bf16, bf16-seed1
#   evaluation-seeds.{json,md}       fp32-seed1, bf16-seed2, fp32-seed2
#   evaluation-full.{json,md}        bf16-full beside topoaudio-cochresnet18w64-tau5
#   evaluation-full-seed1.{json,md}  bf16-full-seed1
#   precision-pairs.md               per seed and accuracy, bf16 - float32, and their mean
# Also writes time-<run>.txt and copies the training logs to
# checkpoints/training_logs/precision/. Needs the corpora of scripts/train_w64_models.sh. A run
# already exported to runs/precision/<run>/model is not trained again; a group is evaluated when
# all of its runs are there and one of them is newer than its evaluation.
#   bash scripts/precision_check.sh            # all eight runs
#   bash scripts/precision_check.sh fp32-seed1 # only the runs named
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
out=checkpoints/w64/precision
logs=checkpoints/training_logs/precision
full=(--config configs/cpu/wsn-augmented.yaml --config configs/cpu/w64.yaml
      --config configs/cpu/w64-tau5.yaml)  # the shipped float32 tau = 5 model's 750-step recipe
short=("${full[@]}" --config configs/cpu/w64-short.yaml)
export MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=2147483648
mkdir -p "$out" "$logs" runs/precision

first=(fp32 bf16 bf16-seed1)
seeds=(fp32-seed1 bf16-seed2 fp32-seed2)
[ $# -gt 0 ] && todo=("$@") || todo=("${first[@]}" "${seeds[@]}" bf16-full bf16-full-seed1)

for run in "${todo[@]}"; do
  dir=runs/precision/$run
  [ -f "$dir/model/model.safetensors" ] && { echo "$run: exported earlier ($dir/model)"; continue; }
  if [[ $run == bf16-full* ]]; then
    steps=750 name=w64-tau5-$run
    args=(fit "${full[@]}" --trainer.logger.init_args.save_dir runs/precision
      --model.description "The full-width TopoAudio tau = 5 recipe in bf16 (precision check).")
  else
    steps=300 name=w64-tau5-short-$run
    args=(fit "${short[@]}")
  fi
  [[ $run == bf16* ]] && args+=(--config configs/cpu/bf16.yaml)
  [ "$run" != fp32 ] && args+=(--trainer.logger.init_args.name "$run" --model.name "$name")
  [[ $run == *-seed* ]] && args+=(--seed_everything "${run##*-seed}")
  rm -rf "$dir"
  echo "$run: training ($(date -Is))"
  start=$(date +%s)
  $zoo "${args[@]}" > "runs/precision/$run.log" 2>&1
  seconds=$(( $(date +%s) - start ))
  echo "$run: $steps steps in $seconds s (fit wall time, start-up and validation included)" \
    | tee "$out/time-$run.txt"
  final=$(ls -t "$dir"/version_*/checkpoints/*.ckpt | head -n 1)  # the newest: end of the budget
  $zoo export "$final" "$dir/model"
  mkdir -p "$logs/$run"
  cp "$dir"/version_0/metrics.csv "$dir"/version_0/hparams.yaml "$logs/$run/"
done

evaluate() {  # evaluate NAME MODEL...: all of the models, when all are there and one is newer
  local name=$1 models=() model stale=false
  shift
  for model in "$@"; do
    [[ $model == */* ]] && [ ! -f "$model/model.safetensors" ] \
      && { echo "$name: $model is not trained here, not evaluated"; return 0; }
    [ "$model" -nt "$out/$name.json" ] && stale=true
    models+=("$model")
  done
  $stale || { echo "$name: evaluated after its models ($out/$name.json)"; return 0; }
  $zoo evaluate "${models[@]}" \
    --speech data/speech-commands-multi --background data/backgrounds \
    --background-format backgrounds --out "$out/$name.json" --markdown "$out/$name.md"
}
folders() { local run; for run in "$@"; do echo "runs/precision/$run/model"; done; }
# shellcheck disable=SC2046  # the folders hold no spaces
evaluate evaluation $(folders "${first[@]}")
# shellcheck disable=SC2046
evaluate evaluation-seeds $(folders "${seeds[@]}")
evaluate evaluation-full runs/precision/bf16-full/model topoaudio-cochresnet18w64-tau5
evaluate evaluation-full-seed1 runs/precision/bf16-full-seed1/model
evaluations=("$out/evaluation.json")
[ -f "$out/evaluation-seeds.json" ] && evaluations+=("$out/evaluation-seeds.json")
.venv/bin/python scripts/precision_pairs.py "${evaluations[@]}" > "$out/precision-pairs.md"
cat "$out/precision-pairs.md"
