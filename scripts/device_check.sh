#!/usr/bin/env bash
# GPU verification (issue 20): runs scripts/device_check.py from src/ on a machine where the
# package is not installed, with the pure-Python dependencies that machine's Python lacks taken
# from wheels in device_wheels/ (git-ignored; it travels with the working tree).
#
#   bash scripts/device_check.sh --prepare     # here, with network: download the wheels
#   bash scripts/device_check.sh [OPTIONS]     # there: install what is missing, run the checks
#
# OPTIONS go to device_check.py (--cpu, --out FOLDER, --only NAME ...). The Python used is
# $PYTHON (default python3); the summary goes to $OUT/device_check.json (or --out).
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=device_wheels
python=${PYTHON:-python3}
# distribution==version (the lock's, for CPython 3.12 on x86-64 Linux) and its import name
packages=(
  "topoloss==0.0.2 topoloss"
  "einops==0.8.2 einops"
  "torchtyping==0.1.5 torchtyping"
  "typeguard==2.13.3 typeguard"
  "soundfile==0.14.0 soundfile"
  "cffi==2.1.1 cffi"
  "pycparser==3.12 pycparser"
  "tqdm==4.70.1 tqdm"
  "torchmetrics==1.9.0 torchmetrics"
)

if [ "${1:-}" = "--prepare" ]; then
  mkdir -p "$wheels"
  specs=()
  for package in "${packages[@]}"; do specs+=("${package%% *}"); done
  ${PIP:-.venv/bin/python -m pip} download --no-deps --only-binary=:all: --dest "$wheels" \
    --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 "${specs[@]}"
  ls -l "$wheels"
  exit 0
fi

target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
missing=()
for package in "${packages[@]}"; do
  spec=${package%% *}
  module=${package##* }
  if ! PYTHONPATH=src "$python" -c "import $module" 2>/dev/null; then
    dist=${spec%%==*}
    wheel=$(ls "$wheels/${dist//-/_}-${spec##*==}-"*.whl 2>/dev/null | head -n 1 || true)
    if [ -z "$wheel" ]; then
      echo "device_check.sh: $module is missing and $wheels/ has no wheel of $spec;" \
        "run 'bash scripts/device_check.sh --prepare' where a package index is reachable" >&2
      exit 2
    fi
    missing+=("$wheel")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "device_check.sh: installing ${missing[*]} into $target"
  if ! "$python" -m pip install --quiet --no-index --no-deps --target "$target" "${missing[@]}"; then
    echo "device_check.sh: pip failed; unpacking the wheels instead (they need no build step)"
    for wheel in "${missing[@]}"; do "$python" -m zipfile -e "$wheel" "$target"; done
  fi
fi
export PYTHONPATH="$PWD/src:$target${PYTHONPATH:+:$PYTHONPATH}"
"$python" scripts/device_check.py "$@"
