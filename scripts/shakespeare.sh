#!/usr/bin/env bash
# scripts/shakespeare.sh [OUT_DIR] — nanoGPT's shakespeare_char split of
# ../shared/data/tinyshakespeare.txt (docs/gpt.md): the first 90% of its
# characters (1,003,854) in OUT_DIR/train.txt, the rest (111,540) in
# OUT_DIR/val.txt (default OUT_DIR: data/shakespeare).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data/shakespeare}"
src="${GRAPHC_SHAKESPEARE:-../shared/data/tinyshakespeare.txt}"
if [ ! -f "$src" ]; then
  echo "shakespeare.sh: error: $src not found (set GRAPHC_SHAKESPEARE to the text)" >&2
  exit 1
fi
bytes=$(stat -c %s "$src")
if [ "$bytes" -ne 1115394 ]; then
  echo "shakespeare.sh: error: $src has $bytes bytes, not tiny shakespeare's 1,115,394" >&2
  exit 1
fi
train=$((bytes * 9 / 10))  # nanoGPT: int(n * 0.9)
mkdir -p "$out"
head -c "$train" "$src" >"$out/train.txt.tmp" && mv "$out/train.txt.tmp" "$out/train.txt"
tail -c +"$((train + 1))" "$src" >"$out/val.txt.tmp" && mv "$out/val.txt.tmp" "$out/val.txt"
echo "shakespeare.sh: $out/train.txt $train characters, $out/val.txt $((bytes - train))" >&2
