#!/usr/bin/env bash
# scripts/run.sh — set up, build, and run graphc's main job: train the seed
# setup (d2l's RNN from scratch on The Time Machine, 500 epochs), then print
# the final perplexity and the samples after "time traveller" and "traveller".
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./build/graphc train --metrics build/seed-metrics.csv --plot build/seed-perplexity.svg --save build/seed.safetensors "$@"
