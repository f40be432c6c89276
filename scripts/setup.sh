#!/usr/bin/env bash
# Set up a fresh machine (Debian/Ubuntu, Python >= 3.10): a virtual environment in .venv with
# topoaudio-zoo and the exact versions of requirements/lock.txt. With --dev, also the test
# dependencies (requirements/lock-dev.txt) and the Debian packages the offline corpora are
# rendered with (listed below; docs/corpora.md says which corpus needs which).
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done

if [ "$dev" = 1 ]; then
  missing=()
  # The corpora of docs/corpora.md: speech (espeak-ng, flite, festival + voices), notes and music
  # (fluidsynth + FluidR3_GM), backgrounds (wesnoth-1.16-data; the full corpus also reads
  # wesnoth-1.16-music and supertuxkart-data, not installed here).
  for pkg in espeak-ng fluidsynth fluid-soundfont-gm sox flite festival festvox-kallpc16k \
    festvox-kdlpc16k festvox-us-slt-hts wesnoth-1.16-data; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    echo "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Exact versions from the lock (refresh it with scripts/lock.sh), then the package itself.
lock=requirements/lock.txt
if [ "$dev" = 1 ]; then lock=requirements/lock-dev.txt; fi
.venv/bin/python -m pip install --quiet -r "$lock"
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install --quiet --no-deps -r requirements/hearvalidator.txt
fi
.venv/bin/python -m pip install --quiet --no-deps -e .
.venv/bin/python -c "import torch, torchaudio; print(f'torch {torch.__version__}, torchaudio {torchaudio.__version__}: ok')"
