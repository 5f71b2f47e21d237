# tests/lib.sh — what the shell tests share; sourced after `graphc=$1`.
# A private scratch directory (and JIT cache), fail(), and expect_error().
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"  # the JIT's object cache, private to this run
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
