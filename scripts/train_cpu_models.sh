#!/usr/bin/env bash
# Train the shipped CPU models one after another with the configs/cpu recipes: the baseline
# (tau = 0) and TopoAudio models at tau = 5 and 25 (same architecture, data, seed, schedule).
# Renders the offline corpora first if data/ lacks them. Rerunning resumes: a finished run (its
# runs/cpu/<name>/final.ckpt, the end of its last epoch, exists) is skipped, an interrupted one
# continues from its last checkpoint (mid-epoch, exactly).
# Logs: runs/cpu/<name>.log (console) and runs/cpu/<name>/version_*/metrics.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=.venv/bin/topoaudio-zoo
[ -f data/speech-commands/testing_list.txt ] || $zoo make-corpus speech-commands data/speech-commands
[ -f data/nsynth/nsynth-test/examples.json ] || $zoo make-corpus nsynth data/nsynth
mkdir -p runs/cpu
base=configs/cpu/wsn-cochresnet18w32.yaml
for run in "baseline-cochresnet18w32:" \
           "topoaudio-cochresnet18w32-tau5:configs/cpu/topo-tau5.yaml" \
           "topoaudio-cochresnet18w32-tau25:configs/cpu/topo-tau25.yaml"; do
  name=${run%%:*}
  overlay=${run#*:}
  if [ -f "runs/cpu/$name/final.ckpt" ]; then
    echo "$name: finished earlier (runs/cpu/$name/final.ckpt)"
    continue
  fi
  args=(fit --config "$base")
  [ -n "$overlay" ] && args+=(--config "$overlay")
  last=$(ls -t runs/cpu/"$name"/version_*/checkpoints/last.ckpt 2>/dev/null | head -n 1 || true)
  [ -n "$last" ] && args+=(--ckpt_path "$last") && echo "$name: resuming from $last"
  echo "$name: training ($(date -Is))"
  start=$(date +%s)
  $zoo "${args[@]}" >> "runs/cpu/$name.log" 2>&1
  echo "$name: done in $(( $(date +%s) - start )) s ($(date -Is))" | tee -a "runs/cpu/$name.log"
  final=$(ls -t runs/cpu/"$name"/version_*/checkpoints/end-*.ckpt | head -n 1)
  cp "$final" "runs/cpu/$name/final.ckpt"
  echo "$name: final checkpoint $final -> runs/cpu/$name/final.ckpt"
done
