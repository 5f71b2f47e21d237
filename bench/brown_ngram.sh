#!/usr/bin/env bash
# bench/brown_ngram.sh [BROWN_DIR] — n-gram baselines on the Brown split of
# scripts/brown.sh (default data/brown), perplexity over every test token:
#  - IRSTLM (Debian's irstlm): Witten-Bell and shift-beta, interpolated, orders
#    3 and 5. Its Kneser-Ney estimators (kn, mkn) are tried and reported: on
#    this corpus they exit without a result. IRSTLM reads <unk> as its own
#    out-of-vocabulary class, so the files are given to it with <unk> spelled
#    _UNK_ (a word like any other, as graphc sees it); its OOV penalty spreads
#    the unseen words' mass over the |V| of vocab.txt (-dub).
#  - bench/kneser_ney.py: interpolated modified Kneser-Ney, orders 3 and 5.
# Prints a Markdown table (docs/brown.md).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-data/brown}"
for f in train test vocab; do
  [ -s "$dir/$f.txt" ] || { echo "brown_ngram.sh: error: $dir/$f.txt is missing; run scripts/brown.sh first" >&2; exit 1; }
done
if [ ! -x /usr/lib/irstlm/bin/tlm ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "brown_ngram.sh: installing irstlm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends irstlm >/dev/null
fi
tlm=/usr/lib/irstlm/bin/tlm
work="$(mktemp -d "${TMPDIR:-/tmp}/graphc-ngram.XXXXXX")"
trap 'rm -rf "$work"' EXIT
for f in train test; do sed 's/<unk>/_UNK_/g' "$dir/$f.txt" >"$work/$f.txt"; done
vocab=$(wc -l <"$dir/vocab.txt")

echo "| model | order | test perplexity | tokens | seconds |"
echo "|---|---|---|---|---|"
for lm in wb sb kn mkn; do
  for n in 3 5; do
    start=$(date +%s.%N)
    out=$(timeout 600 "$tlm" -tr="$work/train.txt" -n=$n -lm=$lm -te="$work/test.txt" -dub="$vocab" -ps=no 2>&1 || true)
    secs=$(echo "$(date +%s.%N) - $start" | bc)
    line=$(grep -o 'n=[0-9]* .*PP=[0-9.]*' <<<"$out" | tail -1 || true)
    if [ -n "$line" ]; then
      printf "| IRSTLM %s | %s | %.1f | %s | %.0f |\n" "$lm" "$n" "${line##*PP=}" "$(sed 's/n=\([0-9]*\).*/\1/' <<<"$line")" "$secs"
    else
      printf "| IRSTLM %s | %s | no result: %s | | %.0f |\n" "$lm" "$n" "$(grep -i -m1 -E 'error|hint' <<<"$out" || echo 'exits without estimating')" "$secs"
    fi
  done
done
for n in 3 5; do
  start=$(date +%s.%N)
  line=$(/usr/bin/python3 bench/kneser_ney.py "$dir/train.txt" "$dir/test.txt" "$dir/vocab.txt" "$n")
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  ppl=$(sed 's/.*perplexity \([0-9.]*\) over \([0-9]*\).*/\1/' <<<"$line")
  toks=$(sed 's/.*over \([0-9]*\).*/\1/' <<<"$line")
  printf "| modified Kneser-Ney (bench/kneser_ney.py) | %s | %s | %s | %.0f |\n" "$n" "$ppl" "$toks" "$secs"
done
