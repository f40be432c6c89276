#!/usr/bin/env bash
# Train the second-generation (full-width, base 64) CPU models with the configs/cpu recipes:
# the baseline (tau = 0), TopoAudio at tau = 25, then at tau = 5, one after the other on the
# 2 cores (same architecture, data, seed and step budget). Renders the offline
# corpora first if data/ lacks them (docs/corpora.md; the background corpus also needs the Debian
# packages wesnoth-1.16-music and supertuxkart-data). Rerunning resumes: a model already exported
# to checkpoints/<name>/ or finished here (runs/cpu/<name>/final.ckpt) is skipped, an interrupted
# run continues from its last checkpoint (every 100 steps).
# Logs: runs/cpu/<name>.log and runs/cpu/<name>/version_*/metrics.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
# Festival is held out of training entirely (a test of an engine never heard), and Flite's rms
# voice; a corpus rendered earlier with other held-out voices is relisted, not rendered again.
speech=(speech-commands data/speech-commands-multi --engines espeak-ng flite festival
        --heldout-voices flite:rms festival)
if [ -f data/speech-commands-multi/testing_list.txt ]; then
  $zoo make-corpus "${speech[@]}" --relist
else
  $zoo make-corpus "${speech[@]}"
fi
[ -f data/backgrounds/categories.csv ] || $zoo make-corpus backgrounds data/backgrounds
mkdir -p runs/cpu
recipe=(--config configs/cpu/wsn-augmented.yaml --config configs/cpu/w64.yaml)

train() {  # train NAME [OVERLAY]: one run, resumed if it was interrupted
  local name=$1 overlay=${2:-} last final start
  if [ -f "checkpoints/$name/model.safetensors" ]; then
    echo "$name: exported earlier (checkpoints/$name)"
    return
  fi
  if [ -f "runs/cpu/$name/final.ckpt" ]; then
    echo "$name: finished earlier (runs/cpu/$name/final.ckpt)"
    return
  fi
  local args=(fit "${recipe[@]}")
  [ -n "$overlay" ] && args+=(--config "$overlay")
  last=$(ls -t runs/cpu/"$name"/version_*/checkpoints/last.ckpt 2>/dev/null | head -n 1 || true)
  [ -n "$last" ] && args+=(--ckpt_path "$last") && echo "$name: resuming from $last"
  echo "$name: training ($(date -Is))"
  start=$(date +%s)
  $zoo "${args[@]}" >> "runs/cpu/$name.log" 2>&1
  echo "$name: done in $(( $(date +%s) - start )) s ($(date -Is))" | tee -a "runs/cpu/$name.log"
  final=$(ls -t runs/cpu/"$name"/version_*/checkpoints/*.ckpt | head -n 1)  # the newest: end of the step budget
  cp "$final" "runs/cpu/$name/final.ckpt"
  echo "$name: final checkpoint $final -> runs/cpu/$name/final.ckpt"
}

train baseline-cochresnet18w64
train topoaudio-cochresnet18w64-tau25 configs/cpu/w64-tau25.yaml
train topoaudio-cochresnet18w64-tau5 configs/cpu/w64-tau5.yaml
