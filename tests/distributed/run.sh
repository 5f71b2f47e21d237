#!/usr/bin/env bash
# tests/distributed/run.sh GRAPHC MPIEXEC — data-parallel training under
# Open MPI: 2 ranks train as one process does (per-epoch perplexity and final
# parameters within 1e-5), rank 0 alone reports and writes, checkpoints resume
# on 1 or 2 ranks, a batch that does not split is one error, and a killed,
# hung or signalled run ends within 30 s with its checkpoint intact.
set -u
graphc=$1
mpiexec=$2
source "$(dirname "$0")/../lib.sh"
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to compare checkpoints"; exit 1; }

# Root is allowed (CI runs as root); shared memory and loopback only; two
# ranks even on a one-core machine.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none  # containers may forbid cross-memory attach
# Open MPI keeps what MPI_Init allocates until exit; LeakSanitizer would report it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
mpi() { local n=$1; shift; "$mpiexec" -np "$n" "$@"; }

small=(--hidden 32 --batch-size 8 --num-steps 10 --max-tokens 3000 --threads 1 --sample-every 0)

# same_checkpoints A B: every f32 tensor of B is in A, the parameters equal within
# 1e-5 of the tensor's largest value, the carried state ([batch, ...]) within 1e-4.
same_checkpoints() {
  python3 - "$1" "$2" <<'PY'
import array, json, struct, sys
def tensors(path):  # name -> (shape, values), and the batch size
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header, body = json.loads(data[8:8 + n]), data[8 + n:]
    out = {}
    for name, t in header.items():
        if name != "__metadata__" and t["dtype"] == "F32":
            a = array.array("f"); a.frombytes(body[t["data_offsets"][0]:t["data_offsets"][1]]); out[name] = (t["shape"], a)
    return out, int(header["__metadata__"]["batch_size"])
(a, _), (b, batch) = tensors(sys.argv[1]), tensors(sys.argv[2])
for name, (shape, want) in b.items():
    if name not in a or a[name][0] != shape: sys.exit(f"tensor {name} missing or of another shape")
    scale = max(max(abs(x) for x in want), 1e-30)
    worst = max(abs(x - y) for x, y in zip(a[name][1], want)) / scale
    # The carried state (batch rows) passes through every step's rounding differences once more.
    tolerance = 1e-4 if len(shape) == 2 and shape[0] == batch else 1e-5
    if worst > tolerance: sys.exit(f"tensor {name} differs by {worst:.2e} of its largest value")
PY
}
# same_perplexities A.csv B.csv: the same epochs, perplexity within 1e-5 relative.
same_perplexities() {
  python3 - "$1" "$2" <<'PY'
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
if len(a) != len(b) or not a: sys.exit(f"{len(a)} epochs against {len(b)}")
for x, y in zip(a, b):
    p, q = float(x["perplexity"]), float(y["perplexity"])
    if abs(p - q) > 1e-5 * q: sys.exit(f"epoch {x['epoch']}: perplexity {p} against {q}")
PY
}
# rank_pid MPIRUN_PID RANK: the process of that rank (mpirun starts local ranks itself).
rank_pid() {
  local stat pid comm state ppid
  for stat in /proc/[0-9]*/stat; do
    read -r pid comm state ppid _ <"$stat" 2>/dev/null || continue
    [ "$ppid" = "$1" ] || continue
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$pid"; return; }
  done
}
# wait_for_exit PID SECONDS: 0 if it exited in time (then $rc is its status).
wait_for_exit() {
  local pid=$1 deadline=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  wait "$pid"; rc=$?
  return 0
}

# 1. Two ranks against one process, both iterators and a tuple-state model.
for case in "sequential rnn-scratch 20" "random rnn-scratch 10" "sequential lstm 6"; do
  read -r iter model epochs <<<"$case"
  run=(train "${small[@]}" --iter "$iter" --model "$model" --epochs "$epochs")
  "$graphc" "${run[@]}" --metrics "$tmp/one.csv" --save "$tmp/one.safetensors" >"$tmp/one.out" 2>&1 ||
    { fail "one process, $case"; cat "$tmp/one.out"; continue; }
  mpi 2 "$graphc" "${run[@]}" --metrics "$tmp/two.csv" --save "$tmp/two.safetensors" >"$tmp/two.out" 2>"$tmp/two.err" ||
    { fail "2 ranks, $case"; cat "$tmp/two.err"; continue; }
  same_perplexities "$tmp/two.csv" "$tmp/one.csv" || fail "2 ranks, $case: perplexities differ from one process"
  same_checkpoints "$tmp/two.safetensors" "$tmp/one.safetensors" || fail "2 ranks, $case: parameters differ from one process"
  # Rank 0 alone reports: one result line, one first-epoch line, one announcement.
  [ "$(grep -c '^perplexity' "$tmp/two.out")" = 1 ] || { fail "2 ranks, $case: not one result line"; cat "$tmp/two.out"; }
  [ "$(grep -c "^epoch 1/" "$tmp/two.err")" = 1 ] || { fail "2 ranks, $case: not one progress line"; cat "$tmp/two.err"; }
  grep -q "data-parallel on 2 ranks: each trains 4 of the 8 rows" "$tmp/two.err" || fail "2 ranks, $case: no announcement"
  [ "$iter" = sequential ] && [ "$model" = rnn-scratch ] && cp "$tmp/one.safetensors" "$tmp/seq20.safetensors" &&
    cp "$tmp/two.safetensors" "$tmp/seq20-2.safetensors"
done

# 1b. Rows over workers: with the batch cut into 4 shards, 1 process x 1 thread, 1 x 2, 2 ranks x 1
# and 2 ranks x 2 write byte-identical checkpoints (dropout included), and a 2-rank checkpoint
# resumed on 1 process continues the same run bit for bit.
shard_run=(train --hidden 32 --batch-size 8 --num-steps 10 --max-tokens 3000 --sample-every 0 --model lstm-lm
  --set dropout=0.2 --shards 4)
"$graphc" "${shard_run[@]}" --epochs 4 --threads 1 --save "$tmp/s11.safetensors" >/dev/null 2>"$tmp/err" ||
  { fail "4 shards, 1 x 1"; cat "$tmp/err"; }
"$graphc" "${shard_run[@]}" --epochs 4 --threads 2 --save "$tmp/s12.safetensors" --stats >/dev/null 2>"$tmp/err" ||
  { fail "4 shards, 1 x 2"; cat "$tmp/err"; }
grep -q "rows over workers: 4 shards of 2 rows (2 at once)" "$tmp/err" || { fail "4 shards, 1 x 2: --stats does not say so"; cat "$tmp/err"; }
cmp -s "$tmp/s12.safetensors" "$tmp/s11.safetensors" || fail "4 shards: 1 process x 2 threads differs from 1 x 1"
for threads in 1 2; do
  mpi 2 --bind-to none "$graphc" "${shard_run[@]}" --epochs 4 --threads "$threads" --save "$tmp/s2$threads.safetensors" \
    >/dev/null 2>"$tmp/err" || { fail "4 shards, 2 ranks x $threads"; cat "$tmp/err"; }
  cmp -s "$tmp/s2$threads.safetensors" "$tmp/s11.safetensors" || fail "4 shards: 2 ranks x $threads differ from 1 process x 1"
done
mpi 2 "$graphc" "${shard_run[@]}" --epochs 2 --threads 1 --save "$tmp/s-half.safetensors" >/dev/null 2>&1 ||
  fail "4 shards, 2 ranks, first half"
"$graphc" train --resume "$tmp/s-half.safetensors" --epochs 4 --save "$tmp/s-resumed.safetensors" >/dev/null 2>"$tmp/err" ||
  { fail "4 shards, resumed on 1 process"; cat "$tmp/err"; }
cmp -s "$tmp/s-resumed.safetensors" "$tmp/s11.safetensors" || fail "4 shards: a 2-rank checkpoint resumed on 1 process is not the same run"

# 2. Resume: 2 ranks -> 2 ranks bit for bit; 2 -> 1 and 1 -> 2 within 1e-5.
resume_run=(train "${small[@]}" --epochs 10)
mpi 2 "$graphc" "${resume_run[@]}" --save "$tmp/half2.safetensors" >/dev/null 2>&1 || fail "2 ranks, first half"
"$graphc" "${resume_run[@]}" --save "$tmp/half1.safetensors" >/dev/null 2>&1 || fail "one process, first half"
mpi 2 "$graphc" train --resume "$tmp/half2.safetensors" --epochs 20 --save "$tmp/r22.safetensors" >/dev/null 2>&1 || fail "resume 2 -> 2"
cmp -s "$tmp/r22.safetensors" "$tmp/seq20-2.safetensors" || fail "resuming on 2 ranks is not bit for bit the uninterrupted 2-rank run"
"$graphc" train --resume "$tmp/half2.safetensors" --epochs 20 --save "$tmp/r21.safetensors" >/dev/null 2>&1 || fail "resume 2 -> 1"
same_checkpoints "$tmp/r21.safetensors" "$tmp/seq20.safetensors" || fail "a 2-rank checkpoint resumed on 1 process"
mpi 2 "$graphc" train --resume "$tmp/half1.safetensors" --epochs 20 --save "$tmp/r12.safetensors" >/dev/null 2>&1 || fail "resume 1 -> 2"
same_checkpoints "$tmp/r12.safetensors" "$tmp/seq20.safetensors" || fail "a 1-process checkpoint resumed on 2 ranks"

# 3. A batch that does not split: one error line, from rank 0 only.
mpi 2 "$graphc" train --batch-size 5 --epochs 1 >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -ne 0 ] || fail "batch 5 on 2 ranks: exit 0"
[ "$(grep -c 'does not split into 2 shards' "$tmp/err")" = 1 ] || { fail "batch 5 on 2 ranks: not one error line"; cat "$tmp/err"; }

# 3b. Ranks started differently (MPMD): refused before the first all_reduce, naming the flag and
# the rank, once; never a heap overrun or a hang.
without() {  # without FLAG ARGS...: ARGS less FLAG and its value, one per line
  local flag=$1; shift
  while [ $# -gt 0 ]; do if [ "$1" = "$flag" ]; then shift 2; else printf '%s\n' "$1"; shift; fi; done
}
for differ in "--hidden 16" "--model rnn" "--seed 3" "--lr 0.5" "--clip 2" "--epochs 2" "--engine interp"; do
  flag=${differ%% *}
  mapfile -t base < <(without "$flag" "${small[@]}" --epochs 1)
  # shellcheck disable=SC2086  # $differ is a flag and its value
  "$mpiexec" -np 1 "$graphc" train "${base[@]}" : -np 1 "$graphc" train "${base[@]}" $differ >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -ne 0 ] || fail "ranks with $differ: exit 0"
  [ "$(grep -c "the ranks disagree on $flag: rank 1 differs from rank 0" "$tmp/err")" = 1 ] ||
    { fail "ranks with $differ: not one line naming $flag"; cat "$tmp/err"; }
  grep -q "AddressSanitizer\|double free\|corruption" "$tmp/err" && fail "ranks with $differ: memory error"
done
printf 'another text for the second rank, with its own letters.\n%.0s' $(seq 200) >"$tmp/other.txt"
"$mpiexec" -np 1 "$graphc" train "${small[@]}" --epochs 1 : -np 1 "$graphc" train "${small[@]}" --epochs 1 \
  --data "$tmp/other.txt" >"$tmp/out" 2>"$tmp/err"
grep -q "the ranks disagree on the vocabulary" "$tmp/err" || { fail "ranks on different texts"; cat "$tmp/err"; }

# 4. A killed rank: the run ends within 30 s naming it; the checkpoint resumes.
long=(train "${small[@]}" --epochs 1000000 --save "$tmp/long.safetensors" --checkpoint-every 50)
start_long() {  # starts the long run in the background; waits for its first checkpoint
  rm -f "$tmp/long.safetensors"
  "$mpiexec" -np 2 "$graphc" "${long[@]}" "$@" >"$tmp/long.out" 2>&1 &
  runner=$!
  local deadline=$((SECONDS + 60))
  until [ -s "$tmp/long.safetensors" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
  [ -s "$tmp/long.safetensors" ] || fail "the long run wrote no checkpoint"
  sleep 0.5  # into the middle of a later epoch
}
start_long
kill -9 "$(rank_pid "$runner" 1)" 2>/dev/null || fail "no rank 1 to kill"
if wait_for_exit "$runner" 30; then
  [ $rc -ne 0 ] || fail "a killed rank: the run exited 0"
  grep -q "rank 1" "$tmp/long.out" || { fail "a killed rank: the message does not name rank 1"; cat "$tmp/long.out"; }
  "$graphc" train --resume "$tmp/long.safetensors" --epochs 1000000 --sample-every 0 --threads 1 --max-tokens 3000 \
    >/dev/null 2>&1 &
  resumer=$!
  sleep 2; kill -INT $resumer; wait $resumer
  [ $? -eq 130 ] || fail "the checkpoint a killed run left does not resume"
else
  fail "a killed rank: the run still runs after 30 s"; kill -9 "$runner"
fi

# 5. A hung rank: the others give up after --rank-timeout.
start_long --rank-timeout 2
kill -STOP "$(rank_pid "$runner" 1)" 2>/dev/null || fail "no rank 1 to stop"
if wait_for_exit "$runner" 30; then
  [ $rc -ne 0 ] || fail "a hung rank: the run exited 0"
  grep -q "rank 0: the other ranks have not answered for 2 s" "$tmp/long.out" || { fail "a hung rank: no message"; cat "$tmp/long.out"; }
else
  fail "a hung rank: the run still runs after 30 s"; kill -9 "$runner"
fi

# 6. SIGTERM to mpirun (what Ctrl-C does): the ranks stop at the same step, rank 0 saves, the run resumes.
start_long
kill -TERM "$runner"
if wait_for_exit "$runner" 30; then
  [ "$(grep -c 'stopped by SIGTERM' "$tmp/long.out")" = 1 ] || { fail "SIGTERM: not one stop message"; cat "$tmp/long.out"; }
  epochs=$(grep -o 'after [0-9]* complete' "$tmp/long.out" | grep -o '[0-9]*')
  mpi 2 "$graphc" train --resume "$tmp/long.safetensors" --epochs $((epochs + 2)) >"$tmp/resumed.out" 2>&1 ||
    { fail "SIGTERM: the saved state does not resume on 2 ranks"; cat "$tmp/resumed.out"; }
else
  fail "SIGTERM: the run still runs after 30 s"; kill -9 "$runner"
fi

[ $failures -eq 0 ] && echo "distributed: all checks passed"
exit $((failures > 0))
