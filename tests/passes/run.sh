#!/usr/bin/env bash
# tests/passes/run.sh GRAPHC FILECHECK — every pass's text test: each
# tests/passes/*.gir (found by glob, no list to keep) names its pipeline on a
# `// RUN: PASSES` line; `graphc opt FILE --passes PASSES` must satisfy its
# CHECK lines under LLVM's FileCheck. Three rules keep the checks honest:
#   - the unchanged input must FAIL the checks (a file that passes without its
#     pipeline tests nothing about it);
#   - a CHECK-NOT sits between two positive checks (not first, not last), so
#     it always has a range to search;
#   - every pass `graphc opt --list-passes` knows has a file named after it
#     (PASS.gir or PASS-CASE.gir).
set -uo pipefail
graphc=$1 filecheck=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0 files=0 failedFiles=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for f in "$here"/*.gir; do
  files=$((files + 1))
  name=$(basename "$f")
  pipeline=$(sed -n 's|^// RUN: ||p' "$f" | head -n 1)
  [ -n "$pipeline" ] || { fail "$name: no '// RUN: PASSES' line"; continue; }
  # CHECK-NOT placement: a positive check before and after each one.
  awk '/^\/\/ CHECK(-NEXT|-SAME|-DAG)?:/ { pos = NR; if (pending) { pending = 0 } }
       /^\/\/ CHECK-COUNT-[1-9][0-9]*:/ { pos = NR; pending = 0 }
       /^\/\/ CHECK-NOT:/ { if (!pos) { print "a CHECK-NOT before any positive check (line " NR ")"; bad = 1 } pending = NR }
       END { if (pending) { print "a CHECK-NOT after the last positive check (line " pending ")"; bad = 1 } exit bad }' \
    "$f" >"$tmp/lint" || { fail "$name: $(cat "$tmp/lint")"; continue; }
  if ! "$graphc" opt "$f" --passes "$pipeline" >"$tmp/out" 2>"$tmp/err"; then
    fail "$name: graphc opt --passes '$pipeline' failed: $(cat "$tmp/err")"
    continue
  fi
  "$filecheck" --dump-input=never "$f" <"$tmp/out" >"$tmp/fc" 2>&1 || { fail "$name:"; cat "$tmp/fc"; continue; }
  # The same checks on the input as written must fail.
  "$graphc" opt "$f" >"$tmp/unchanged" 2>&1 || { fail "$name: the input does not parse"; continue; }
  if "$filecheck" "$f" <"$tmp/unchanged" >/dev/null 2>&1; then
    fail "$name: the checks also pass on the input without '$pipeline': they test nothing"
  fi
done

# A file for every registered pass.
while IFS=$'\t' read -r pass _; do
  pass=${pass%%\{*}
  compgen -G "$here/$pass.gir" >/dev/null || compgen -G "$here/$pass-*.gir" >/dev/null ||
    fail "pass '$pass' has no tests/passes/$pass.gir"
done < <("$graphc" opt --list-passes)

echo "pass tests: $files files, $failures problems"
[ $failures -eq 0 ]
