#!/usr/bin/env bash
# tests/distributed/two_hosts.sh GRAPHC MPIEXEC — two ranks on two simulated
# hosts (scripts/two_hosts.sh: network namespaces joined by a veth pair shaped
# to 1 Gb/s, plus 50 us where the kernel has netem), Open MPI over TCP only.
# The run must write the same checkpoint, byte for byte, as two ranks over
# shared memory, its gradients must cross the link, and the link's shaper must
# have held them to its rate (else the simulation did not happen).
# Exits 77 (ctest: skipped) where namespaces cannot be made.
set -u
graphc=$1
export TWO_HOSTS_MPIEXEC=$2
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../../scripts/two_hosts.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"  # Open MPI keeps MPI_Init's allocations

if ! two_hosts_up 1gbit 50us; then
  echo "SKIP: $TWO_HOSTS_SKIP"
  exit 77
fi
trap 'two_hosts_down; rm -rf "$tmp"' EXIT
echo "two hosts: ${TWO_HOSTS_NS[*]}, 1 Gb/s, delay: $TWO_HOSTS_DELAY"

# The seed model (hidden 512): 291,356 floats (1.17 MB) of gradients per step, 9.3 ms of a
# 1 Gb/s link, against about 0.3 ms unshaped.
run=(--hidden 512 --batch-size 8 --num-steps 10 --max-tokens 3000 --epochs 2 --threads 1 --sample-every 0
     --cache-dir "$tmp/cache")

OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo \
OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_rmaps_base_oversubscribe=1 \
  timeout 300 "$TWO_HOSTS_MPIEXEC" -np 2 "$graphc" train "${run[@]}" --save "$tmp/shared.safetensors" \
  >"$tmp/shared.out" 2>&1 || { fail "2 ranks over shared memory:"; cat "$tmp/shared.out"; }

TWO_HOSTS_TIMEOUT=300 two_hosts_mpirun "$graphc" train "${run[@]}" --stats --save "$tmp/hosts.safetensors" \
  >"$tmp/hosts.out" 2>&1 || { fail "2 ranks on two hosts:"; cat "$tmp/hosts.out"; }

if [ -f "$tmp/shared.safetensors" ] && [ -f "$tmp/hosts.safetensors" ]; then
  cmp -s "$tmp/shared.safetensors" "$tmp/hosts.safetensors" ||
    fail "two hosts over TCP wrote another checkpoint than two ranks over shared memory"
fi

# The gradients crossed the shaped link (rank 1 ran on the other host), and the shaper held
# packets back: the link ran at its rate. The time is printed, not judged: it includes
# waiting for the other rank, which a busy machine stretches.
grep -m1 "graphc stats: all_reduce" "$tmp/hosts.out" || fail "no all_reduce line in the two-host run's --stats"
read -r sent overlimits <<<"$(two_hosts_link_stats)"
echo "link: ${sent:-?} bytes sent by host 0, shaper overlimits ${overlimits:-?}"
# 2 epochs of 37 steps, each rank sending at least half of 1.17 MB a step.
[ "${sent:-0}" -ge $((74 * 582712)) ] || fail "host 0 sent ${sent:-0} bytes over the link: the gradients did not cross it"
[ "${overlimits:-0}" -gt 0 ] || fail "the link's shaper never held a packet back: not shaped to 1 Gb/s"

[ "$failures" -eq 0 ] && echo "two_hosts: all passed"
exit $((failures > 0))
