#!/usr/bin/env bash
# bench/compile_scaling.sh [GRAPHC] — how the passes scale with the time steps
# (issue 25.11: batch-matmul and the plan verifier were quadratic). For the
# seed model at --hidden 8, prints each pass's seconds at 2,500, 5,000 and
# 10,000 steps and the ratio of the last two: about 2 is linear, 4 quadratic.
set -euo pipefail
graphc=${1:-$(dirname "$0")/../build/graphc}
declare -A seconds
steps=(2500 5000 10000)
for t in "${steps[@]}"; do
  "$graphc" compile --num-steps "$t" --hidden 8 --batch-size 2 --time-passes >/dev/null 2>/tmp/graphc-scaling.$$ || exit 1
  # The last report is the whole pipeline's; sum each pass over its runs.
  while read -r s pass; do seconds[$t,$pass]=$s; done < <(awk '/pass timing report/ {delete sum} $2 == "s" && $4 != "total" {sum[$4] += $1} END {for (p in sum) print sum[p], p}' /tmp/graphc-scaling.$$)
  total=$(awk '$2 == "s" && $4 == "total" {t = $1} END {print t}' /tmp/graphc-scaling.$$)
  seconds[$t,total]=$total
done
rm -f /tmp/graphc-scaling.$$
printf '%-16s %10s %10s %10s %10s\n' pass "${steps[@]/%/ steps}" "x (2x steps)"
for pass in batch-matmul simplify onehot-gather train-step fuse plan share-concats pack-weights total; do
  a=${seconds[5000,$pass]:-0} b=${seconds[10000,$pass]:-0}
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {printf (a > 0 ? "%.2f" : "-"), b / a}')
  printf '%-16s %10s %10s %10s %10s\n' "$pass" "${seconds[2500,$pass]:-0}" "$a" "$b" "$ratio"
done
