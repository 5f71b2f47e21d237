#!/usr/bin/env bash
# bench/two_hosts.sh [REPEATS] — the all_reduce of data-parallel training
# between two simulated hosts (scripts/two_hosts.sh: two network namespaces,
# a veth pair, Open MPI over TCP only), the link shaped to (a) 1 Gb/s with
# 50 us and (b) 25 Gb/s with 5 us, and unshaped. For each: MPI_Allreduce
# alone at four sizes (bench/allreduce.c, median of REPEATS, default 100),
# alpha and beta fitted from them, the seed step's all_reduce inside
# `graphc train --json` (1.17 MB), and the alpha-beta model of
# docs/distributed.md beside it. Needs root; run on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-100}
source scripts/two_hosts.sh
[ -x build/graphc ] || ./scripts/setup.sh >/dev/null
mpicc -O2 -o build/allreduce_bench bench/allreduce.c
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
trap two_hosts_down EXIT

sizes=(1 16384 291356 1048576)  # floats; 291,356 is the seed's gradient
results=$(mktemp)
for link in "1gbit 50us" "25gbit 5us" "unshaped"; do
  read -r rate delay <<<"$link"
  [ "$rate" = unshaped ] && rate="" delay=""
  two_hosts_up "$rate" "$delay" || { echo "two_hosts: skipped: $TWO_HOSTS_SKIP" >&2; exit 1; }
  echo "== link ${rate:-unshaped} ${delay:+delay $delay} (added delay: ${TWO_HOSTS_DELAY:-none})" >&2
  times=()
  for n in "${sizes[@]}"; do times+=("$(two_hosts_mpirun build/allreduce_bench "$n" "$repeats")"); done
  step=$(two_hosts_mpirun build/graphc train --epochs 20 --threads 1 --sample-every 0 --json --cache-dir "$TWO_HOSTS_DIR/cache" |
         tail -1 | python3 -c "import json, sys; print(json.load(sys.stdin)['allreduce_ms_per_step'])")
  added=none
  [ -n "$delay" ] && [ "$TWO_HOSTS_DELAY" = "$delay" ] && added=$delay
  echo "${rate:-unshaped} $added ${times[*]} $step" >>"$results"
  two_hosts_down
done

python3 - "$results" "${sizes[@]}" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
sizes = [int(s) for s in sys.argv[2:]]
# The model of docs/distributed.md for p = 2: T = 2 alpha + n beta (a ring moves n/2 twice).
documented = {"1gbit": (50e-6, 0.117e9), "25gbit": (25e-6, 2.9e9)}
print(f"two ranks on two simulated hosts, MPI_Allreduce medians in ms ({', '.join(f'{s:,}' for s in sizes)} floats)")
print("| link | added delay | " + " | ".join(f"{s * 4 / 1e6:.3g} MB" for s in sizes) +
      " | fitted alpha | fitted bandwidth | seed step's all_reduce | model, documented alpha/beta |")
print("|---" * (len(sizes) + 6) + "|")
for row in rows:
    rate, delay = row[0], row[1]
    t = [float(x) / 1e3 for x in row[2:2 + len(sizes)]]
    step = float(row[-1]) / 1e3
    alpha = t[0] / 2
    beta = (t[3] - t[2]) / ((sizes[3] - sizes[2]) * 4)
    model = "-"
    if rate in documented:
        a, bw = documented[rate]
        model = f"{(2 * a + sizes[2] * 4 / bw) * 1e3:.2f} ms"
    print(f"| {rate} | {delay} | " + " | ".join(f"{x * 1e3:.3f}" for x in t) +
          f" | {alpha * 1e6:.1f} us | {1 / beta / 1e9:.3f} GB/s | {step * 1e3:.2f} ms | {model} |")
PY
rm -f "$results"
