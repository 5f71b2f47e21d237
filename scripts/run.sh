#!/usr/bin/env bash
# scripts/run.sh — set up, build, and run graphc's main job on its defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./build/graphc compile --model rnn-scratch --time-passes -o build/rnn-scratch.gir
echo "graphc: wrote the seed model's optimized IR to build/rnn-scratch.gir ($(wc -l < build/rnn-scratch.gir) lines)"
