#!/usr/bin/env bash
# bench/brown_lstm.sh [ROUNDS] [HIDDEN] — the word-level LSTM of docs/brown.md
# (H 256 unless HIDDEN, tied, dropout 0.3, Adam, batch 32 x 35, V 17,907), graphc against PyTorch
# (bench/torch_word_lstm.py) side by side, at 1 and 2 threads: training
# tokens/s (medians over the rounds; the contenders alternate within each
# round) and peak RSS. Needs data/brown (scripts/brown.sh) and a Release build.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
hidden="${2:-256}"
[ -s data/brown/train.txt ] || { echo "brown_lstm.sh: error: run scripts/brown.sh first" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "brown_lstm.sh: error: install python3-torch (bench/run.sh does)" >&2; exit 1; }
graphc=build/graphc
peak() { sed -n 's/^peak_kib //p' "$1"; }
measure() {  # measure OUT CMD... : runs CMD, records its stdout and its peak RSS in KiB
  local out=$1; shift
  /usr/bin/time -f "peak_kib %M" -o "$out.time" "$@" >"$out" 2>/dev/null
  cat "$out.time" >>"$out"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf "## Brown word LSTM, H=%s, tied, batch 32 x 35, V 17,907 (medians of %s rounds)\n\n" "$hidden" "$rounds"
printf "| contender | threads | tokens/s | peak RSS MiB | graphc / torch |\n|---|---|---|---|---|\n"
for threads in 1 2; do
  g=() t=() gr=() tr=()
  for r in $(seq 1 "$rounds"); do
    measure "$tmp/g" "$graphc" train --model lstm-lm --hidden "$hidden" --set tie=1,dropout=0.3 --text words \
      --data data/brown/train.txt --vocab data/brown/vocab.txt --max-tokens 40000 --epochs 1 --optimizer adam \
      --lr 0.002 --batch-size 32 --num-steps 35 --sample-every 0 --threads "$threads" --json
    g+=("$(tail -2 "$tmp/g" | head -1 | sed 's/.*"tokens_per_sec":\([0-9.]*\).*/\1/')"); gr+=("$(peak "$tmp/g")")
    measure "$tmp/t" /usr/bin/python3 bench/torch_word_lstm.py speed "$threads" 30 "$hidden"
    t+=("$(head -1 "$tmp/t" | sed 's/.*: \([0-9]*\) tokens.*/\1/')"); tr+=("$(peak "$tmp/t")")
  done
  median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  gm=$(median "${g[@]}") tm=$(median "${t[@]}")
  printf "| graphc | %s | %.0f | %.0f | %.2fx |\n" "$threads" "$gm" "$(median "${gr[@]}" | awk '{print $1/1024}')" \
    "$(echo "$gm / $tm" | bc -l)"
  printf "| torch nn.LSTM | %s | %.0f | %.0f | |\n" "$threads" "$tm" "$(median "${tr[@]}" | awk '{print $1/1024}')"
done
