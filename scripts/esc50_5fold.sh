#!/usr/bin/env bash
# ESC-50 5-fold cross-validation of a zoo model (configs/finetune/esc50.yaml): for each test fold
# 1-5, fine-tune on the four other folds, test on the held-out fold; then print the five test
# accuracies, their mean and standard deviation. --probe: linear probe (frozen backbone, with
# configs/finetune/linear-probe.yaml) instead of full fine-tuning. Other arguments go to every
# fit and test call, e.g. another source model or more epochs:
#   scripts/esc50_5fold.sh --probe --model.init_from topoaudio-cochresnet18w32-tau5
# Logs and checkpoints: runs/finetune/esc50-{full,probe}/fold<k>/ (fit), fold<k>-test/ (test).
set -euo pipefail
cd "$(dirname "$0")/.."
zoo=${TOPOAUDIO_ZOO:-.venv/bin/topoaudio-zoo}
python=${PYTHON:-.venv/bin/python}
mode=full
configs=(--config configs/finetune/esc50.yaml)
if [ "${1:-}" = "--probe" ]; then
  mode=probe
  configs+=(--config configs/finetune/linear-probe.yaml)
  shift
fi
name=esc50-$mode
for fold in 1 2 3 4 5; do
  args=("${configs[@]}" --data.init_args.test_fold "$fold" --trainer.logger.init_args.name "$name")
  "$zoo" fit "${args[@]}" --trainer.logger.init_args.version "fold$fold" "$@"
  "$zoo" test "${args[@]}" --trainer.logger.init_args.version "fold$fold-test" "$@" \
    --ckpt_path "runs/finetune/$name/fold$fold/checkpoints/last.ckpt"
done
"$python" - "runs/finetune/$name" <<'PY'
import csv
import statistics
import sys
from pathlib import Path

accuracies = []
for fold in range(1, 6):
    with open(Path(sys.argv[1]) / f"fold{fold}-test" / "metrics.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row.get("test/category_top1")]
    accuracies.append(float(rows[-1]["test/category_top1"]))
    print(f"fold {fold}: {100 * accuracies[-1]:.2f} %")
mean, std = statistics.fmean(accuracies), statistics.stdev(accuracies)
print(f"ESC-50 5-fold accuracy: {100 * mean:.2f} ± {100 * std:.2f} % (mean ± sd over folds)")
PY
