#!/usr/bin/env bash
# tests/cli/run.sh GRAPHC — the command line: hostile IR files and flag misuse
# each give one "error" line and a non-zero exit, never a crash; the seed
# model's IR survives `compile | opt` round trips.
set -u
graphc=$1
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error DESCRIPTION PATTERN -- COMMAND...: exit 1..125 (not a signal), one stderr line matching PATTERN.
expect_error() {
  local what=$1 pattern=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ] || [ $rc -gt 125 ]; then fail "$what: exit code $rc"; return; fi
  if [ "$(wc -l <"$tmp/err")" -ne 1 ]; then fail "$what: stderr is not one line:"; cat "$tmp/err"; return; fi
  grep -qE -- "$pattern" "$tmp/err" || { fail "$what: stderr does not match '$pattern':"; cat "$tmp/err"; }
}

for f in "$here"/bad/*.gir; do
  name=$(basename "$f")
  expect_error "opt $name" "^$f:[0-9]+:[0-9]+: error: " -- "$graphc" opt "$f" --passes dce,cse
done
expect_error "missing file" "cannot open" -- "$graphc" opt "$tmp/none.gir"
expect_error "unknown pass" "unknown pass 'frob'" -- "$graphc" opt "$here/ir/small.gir" --passes frob
expect_error "unknown flag" "--frobnicate" -- "$graphc" compile --frobnicate
expect_error "bad flag value" "--batch-size" -- "$graphc" compile --batch-size 0
expect_error "non-numeric flag" "--hidden" -- "$graphc" compile --hidden lots
expect_error "unknown model" "unknown model 'gpt'" -- "$graphc" compile --model gpt
expect_error "no subcommand" "subcommand" -- "$graphc"
expect_error "unwritable output" "cannot write" -- "$graphc" compile -o /nonexistent/dir/out.gir

# --help works everywhere and exits 0.
for sub in "" compile opt; do
  "$graphc" $sub --help >"$tmp/help" 2>&1 || fail "graphc $sub --help exits non-zero"
  grep -q "Usage" "$tmp/help" || fail "graphc $sub --help prints no usage"
done

# compile | opt round trip: the output parses again and is stable.
"$graphc" compile --model rnn-scratch --emit ir | "$graphc" opt - --passes dce,cse >"$tmp/a.gir" || fail "compile | opt"
"$graphc" opt "$tmp/a.gir" >"$tmp/b.gir" || fail "re-parse"
cmp -s "$tmp/a.gir" "$tmp/b.gir" || fail "second round trip changed the IR"
"$graphc" compile --print-after all --time-passes -o "$tmp/c.gir" 2>"$tmp/err" || fail "compile --print-after all"
grep -q "IR after simplify" "$tmp/err" || fail "--print-after all printed nothing"
grep -q "pass timing report" "$tmp/err" || fail "--time-passes printed nothing"
[ -s "$tmp/c.gir" ] && [ ! -e "$tmp/c.gir.tmp" ] || fail "-o did not write the file cleanly"

if [ $failures -ne 0 ]; then echo "$failures CLI check(s) failed"; exit 1; fi
echo "all CLI checks passed"
