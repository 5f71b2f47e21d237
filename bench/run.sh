#!/usr/bin/env bash
# bench/run.sh [--rounds N] [--full] [--only generation|distributed|modules|products|avx2] — build graphc in Release, install
# Debian's PyTorch and oneDNN if missing, and print the graphc-vs-PyTorch-vs-oneDNN tables.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
if ! /usr/bin/python3 -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1 ||
   ! dpkg -s libdnnl-dev >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # libopenblas0-pthread: without it the BLAS alternative is the reference BLAS, 5-8x slower.
  # libdnnl-dev: oneDNN's RNN training primitives, the fastest CPU contender (bench/onednn_rnn.cpp).
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-torch libopenblas0-pthread \
    libdnnl-dev >/dev/null
fi
exec /usr/bin/python3 bench/bench.py "$@"
