#!/usr/bin/env bash
# tests/export/run.sh GRAPHC — `graphc export`: for every model, the library
# built with only `cc example.c libNAME.a -lm` prints exactly what `graphc
# generate` prints (greedy and sampled), needs no LLVM or libstdc++, and bad
# input gives one error line and leaves no partial directory.
set -u
graphc=$1
source "$(dirname "$0")/../lib.sh"
cc=$(command -v cc || command -v gcc) || { echo "FAIL: no C compiler"; exit 1; }

tiny=(--hidden 24 --batch-size 4 --num-steps 5 --max-tokens 3000 --epochs 4 --sample-every 0)
# export_and_compare NAME CHECKPOINT [EXPORT FLAGS...]: the example against `graphc generate`.
export_and_compare() {
  local name=$1 ckpt=$2; shift 2
  local dir="$tmp/$name"
  "$graphc" export --load "$ckpt" -o "$dir" --name "$name" "$@" >/dev/null 2>"$tmp/err" || { fail "export $name"; cat "$tmp/err"; return; }
  for f in "$name.h" "lib$name.a" "$name.o" example.c; do [ -s "$dir/$f" ] || fail "export $name wrote no $f"; done
  (cd "$dir" && "$cc" -std=c99 -Wall -Werror -O2 example.c "lib$name.a" -lm -o example) || { fail "building $name's example"; return; }
  local target=host
  [ "${1:-}" = --target-cpu ] && target=$2
  for args in "time traveller|60|0|0|1" "the time machine|120|0.8|7|2" "x|30|1.5|123|1"; do
    IFS='|' read -r prefix length temperature seed threads <<<"$args"
    want=$("$graphc" generate --load "$ckpt" --prefix "$prefix" --length "$length" --temperature "$temperature" \
      --seed "$seed" --target-cpu "$target" --threads 1) || { fail "generate for $name"; continue; }
    got=$("$dir/example" "$prefix" "$length" "$temperature" "$seed" "$threads") || { fail "$name's example failed"; continue; }
    [ "$got" = "$want" ] || fail "$name ($args): the library printed '$got', graphc generate '$want'"
  done
  if command -v ldd >/dev/null; then
    ldd "$dir/example" | grep -Eq 'LLVM|stdc\+\+|graphc' && fail "$name's example links $(ldd "$dir/example" | grep -E 'LLVM|stdc\+\+|graphc')"
  fi
  nm "$dir/lib$name.a" | awk '$2 ~ /^[TDRB]$/ {print $3}' | grep -v "^${name}_" | grep -q . &&
    fail "lib$name.a exports symbols without its prefix: $(nm "$dir/lib$name.a" | awk '$2 ~ /^[TDRB]$/ {print $3}' | grep -v "^${name}_" | head -3)"
}

"$graphc" train "${tiny[@]}" --save "$tmp/scratch.safetensors" >/dev/null 2>&1 || fail "training rnn-scratch"
export_and_compare scratch "$tmp/scratch.safetensors"
export_and_compare portable "$tmp/scratch.safetensors" --target-cpu x86-64-v2
for model in rnn gru; do
  "$graphc" train "${tiny[@]}" --model "$model" --save "$tmp/$model.safetensors" >/dev/null 2>&1 || fail "training $model"
  export_and_compare "$model" "$tmp/$model.safetensors"
done
# A transformer: layer norms and attention in the portable runtime; a context of 8, so the
# generations run past it and its KV cache rolls.
"$graphc" train "${tiny[@]}" --model gpt --num-layers 2 --set context=8 --save "$tmp/gpt.safetensors" >/dev/null 2>&1 ||
  fail "training gpt"
export_and_compare gpt "$tmp/gpt.safetensors"
# --text chars: multi-byte UTF-8 tokens, encoded by the library as by graphc.
for i in $(seq 60); do printf 'The Time Machine, 1895. Chapter %s: naïve café — días.\n' "$i"; done >"$tmp/utf8.txt"
"$graphc" train "${tiny[@]}" --text chars --data "$tmp/utf8.txt" --max-tokens 0 --save "$tmp/chars.safetensors" >/dev/null 2>&1 ||
  fail "training on --text chars"
"$graphc" export --load "$tmp/chars.safetensors" -o "$tmp/chars" --name chars >/dev/null || fail "export chars"
(cd "$tmp/chars" && "$cc" example.c libchars.a -lm -o example) || fail "building the chars example"
for prefix in "café" "The Time" "naïve —"; do
  want=$("$graphc" generate --load "$tmp/chars.safetensors" --prefix "$prefix" --length 40 --temperature 0.7 --seed 2)
  got=$("$tmp/chars/example" "$prefix" 40 0.7 2)
  [ "$got" = "$want" ] || fail "chars ('$prefix'): the library printed '$got', graphc generate '$want'"
done
# token_of reads a character as feed does: "é" is one token of two bytes, and token_text gives it back.
cat >"$tmp/tokenof.c" <<'C'
#include <string.h>
#include "chars.h"
int main(void) {
  size_t used = 0;
  int id = chars_token_of("\xc3\xa9t\xc3\xa9", 5, &used);
  if (id <= 0 || used != 2 || strcmp(chars_token_text(id), "\xc3\xa9") != 0) return 1;
  if (chars_token_of("T", 1, &used) != chars_token_id('T') || used != 1) return 2;
  if (chars_token_of("", 0, &used) != -1 || used != 0) return 3;
  /* step refuses an id outside the vocabulary (no step, a reason) and takes one inside it. */
  chars_generator* g = chars_create();
  if (!g || chars_step(g, -1) || chars_step(g, CHARS_VOCAB_SIZE) || !strstr(chars_last_error(), "token id")) return 4;
  if (!chars_step(g, CHARS_VOCAB_SIZE - 1)) return 5;
  chars_destroy(g);
  return 0;
}
C
"$cc" -I "$tmp/chars" "$tmp/tokenof.c" "$tmp/chars/libchars.a" -lm -o "$tmp/tokenof" && "$tmp/tokenof" ||
  fail "chars_token_of: exit $?"
# The exported library by pkg-config and by CMake's find_package, from wherever its directory is.
mv "$tmp/chars" "$tmp/moved-chars"
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$tmp/moved-chars" pkg-config --cflags --libs chars) || fail "pkg-config chars"
  "$cc" "$tmp/tokenof.c" $flags -o "$tmp/tokenof-pc" && "$tmp/tokenof-pc" || fail "building with pkg-config's flags"
fi
if command -v cmake >/dev/null; then
  mkdir -p "$tmp/cm"
  cp "$tmp/tokenof.c" "$tmp/cm/"
  printf 'cmake_minimum_required(VERSION 3.16)\nproject(usechars C)\nfind_package(chars REQUIRED PATHS "%s" NO_DEFAULT_PATH)\nadd_executable(tokenof tokenof.c)\ntarget_link_libraries(tokenof PRIVATE chars::chars)\n' \
    "$tmp/moved-chars" >"$tmp/cm/CMakeLists.txt"
  { cmake -S "$tmp/cm" -B "$tmp/cm/build" && cmake --build "$tmp/cm/build"; } >"$tmp/cm.log" 2>&1 &&
    "$tmp/cm/build/tokenof" || { fail "building with find_package(chars)"; tail -5 "$tmp/cm.log"; }
fi
"$graphc" train "${tiny[@]}" --model lstm --num-layers 2 --save "$tmp/lstm.safetensors" >/dev/null 2>&1 || fail "training lstm"
export_and_compare lstm2 "$tmp/lstm.safetensors"

# --weights-file: the weights in NAME.weights beside a small object, mapped at run time; the
# same text; a damaged, truncated, missing or foreign file is refused with one line.
"$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/wf" --name wf --weights-file >/dev/null 2>"$tmp/err" ||
  { fail "export --weights-file"; cat "$tmp/err"; }
"$graphc" export --load "$tmp/rnn.safetensors" -o "$tmp/wf-rnn" --name wf --weights-file >/dev/null 2>&1 ||
  fail "export rnn --weights-file"
[ -s "$tmp/wf/wf.weights" ] || fail "export --weights-file wrote no wf.weights"
saved=$(( $(stat -c %s "$tmp/scratch/scratch.o") - $(stat -c %s "$tmp/wf/wf.o") ))
[ "$saved" -ge "$(( ($(stat -c %s "$tmp/wf/wf.weights") - 64) * 3 / 4 ))" ] ||
  fail "with --weights-file the object is only $saved bytes smaller than with the weights inside"
(cd "$tmp/wf" && "$cc" -std=c99 -Wall -Werror example.c libwf.a -lm -o example) || fail "building the --weights-file example"
want=$("$graphc" generate --load "$tmp/scratch.safetensors" --prefix "time traveller" --length 60 --threads 1)
got=$(cd "$tmp/wf" && ./example "time traveller" 60) || fail "the --weights-file example failed"
[ "$got" = "$want" ] || fail "--weights-file: the library printed '$got', graphc generate '$want'"
cp "$tmp/wf/wf.weights" "$tmp/wf.good"
weights_refused() {  # weights_refused WHAT PATTERN: the example exits 1 with one line matching
  local out rc
  out=$(cd "$tmp/wf" && ./example x 5 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && printf '%s' "$out" | grep -q -- "$2" ||
    fail "$1: exit $rc, '$out'"
  cp "$tmp/wf.good" "$tmp/wf/wf.weights"
}
printf '\001' | dd of="$tmp/wf/wf.weights" bs=1 seek=5000 conv=notrunc 2>/dev/null
weights_refused "a damaged weights file" "is not this library's weights file, or it is damaged"
head -c 4096 "$tmp/wf.good" >"$tmp/wf/wf.weights"
weights_refused "a truncated weights file" "its size differs"
rm "$tmp/wf/wf.weights"
weights_refused "a missing weights file" "cannot open the weights file 'wf.weights'"
cp "$tmp/wf-rnn/wf.weights" "$tmp/wf/wf.weights"
weights_refused "another model's weights file" "is not this library's weights file"

# --shared: libNAME.so beside the static library, exporting only NAME_*, printing the same text.
"$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/so" --name so --shared >/dev/null 2>"$tmp/err" ||
  { fail "export --shared"; cat "$tmp/err"; }
if [ -s "$tmp/so/libso.so" ]; then
  nm -D --defined-only "$tmp/so/libso.so" | awk '{print $3}' | grep -v "^so_" | grep -q . &&
    fail "libso.so exports symbols without its prefix: $(nm -D --defined-only "$tmp/so/libso.so" | awk '{print $3}' | grep -v "^so_" | head -3)"
  (cd "$tmp/so" && "$cc" example.c -L. -lso -Wl,-rpath,"$tmp/so" -lm -o example-shared) || fail "building against libso.so"
  got=$("$tmp/so/example-shared" "time traveller" 60) || fail "the shared-library example failed"
  [ "$got" = "$want" ] || fail "--shared: the library printed '$got', graphc generate '$want'"
else
  fail "export --shared wrote no libso.so"
fi
expect_error "--shared without a C compiler" "--shared: cannot run the C compiler driver '/nonexistent/cc'" -- \
  env CC=/nonexistent/cc "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/so-none" --name so --shared
[ -e "$tmp/so-none" ] && fail "a failed --shared export left $tmp/so-none"

# Two exported models link into one program (everything but NAME_* is internal).
cat >"$tmp/both.c" <<'C'
#include <stdio.h>
#include "scratch.h"
#include "gru.h"
int main(void) { return scratch_create() && gru_create() && scratch_vocab_size() == gru_vocab_size() ? 0 : 1; }
C
"$cc" -I "$tmp/scratch" -I "$tmp/gru" "$tmp/both.c" "$tmp/scratch/libscratch.a" "$tmp/gru/libgru.a" -lm -o "$tmp/both" &&
  "$tmp/both" || fail "two exported models in one program"

# The caller's buffer instead of malloc, the logits of one step, and the API's refusals.
cat >"$tmp/api.c" <<'C'
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "scratch.h"
int main(void) {
  static char buffer[1 << 22];
  char small[4];
  if (scratch_state_size() > sizeof buffer) return 10;
  if (scratch_init(buffer, 16)) return 11;
  scratch_generator* g = scratch_init(buffer + 1, sizeof buffer - 1);  /* any alignment */
  if (!g) return 12;
  if (scratch_generate(g, 5, 0, 0, small, sizeof small) != -1) return 13;  /* nothing fed */
  scratch_feed(g, "time", 4);
  if (scratch_generate(g, 5, 0, 0, small, sizeof small) != -1) return 14;  /* buffer too small */
  /* n * max_token_bytes + 1 wraps to a small number: still refused (issue 25.3). */
  char sixteen[16];  /* 0x3333333333333334 * 5 + 1 wraps to 5, which fits */
  if (scratch_generate(g, (size_t)0x3333333333333334ull, 0, 0, sixteen, sizeof sixteen) != -1) return 17;
  const float* logits = scratch_step(g, scratch_token_id('t'));
  for (int i = 0; i < SCRATCH_VOCAB_SIZE; ++i) if (!isfinite(logits[i])) return 15;
  if (scratch_token_id(0xff) != 0 || scratch_token_text(-1) || !scratch_token_text(0)) return 16;
  scratch_sampling bad = {1.0, SCRATCH_VOCAB_SIZE + 1, 1.0, 1.0};
  if (scratch_generate_sampled(g, 1, &bad, 0, buffer, 64) != -1) return 19;
  printf("%s\n", scratch_target_cpu());
  return 0;
}
C
"$cc" -I "$tmp/scratch" "$tmp/api.c" "$tmp/scratch/libscratch.a" -lm -o "$tmp/api" || fail "building the API test"
"$tmp/api" >"$tmp/api.out" || fail "the API test exited $?"

# Top-k, top-p and the repetition penalty through the API choose what `graphc generate` chooses.
cat >"$tmp/sampled.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "scratch.h"
int main(void) {
  static char text[4096];
  scratch_generator* g = scratch_create();
  if (!g) return 1;
  scratch_sampling s = {0.8, 5, 0.9, 1.3};
  scratch_feed(g, "time traveller", 14);
  if (scratch_generate_sampled(g, 80, &s, 5, text, sizeof text) < 0) return 2;
  printf("time traveller%s\n", text);
  return 0;
}
C
"$cc" -I "$tmp/scratch" "$tmp/sampled.c" "$tmp/scratch/libscratch.a" -lm -o "$tmp/sampled" || fail "building the sampling test"
want=$("$graphc" generate --load "$tmp/scratch.safetensors" --length 80 --temperature 0.8 --top-k 5 --top-p 0.9 \
  --repetition-penalty 1.3 --seed 5 --threads 1)
got=$("$tmp/sampled") || fail "the sampling test exited $?"
[ "$got" = "$want" ] || fail "generate_sampled printed '$got', graphc generate '$want'"

# A library for a CPU this one is not refuses to start, with a message (only
# checkable here on a CPU without AVX-512; tests/RuntimeTests.cpp fakes it anywhere).
if ! grep -q avx512f /proc/cpuinfo; then
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/spr" --name spr --target-cpu sapphirerapids >/dev/null || fail "export for sapphirerapids"
  (cd "$tmp/spr" && "$cc" example.c libspr.a -lm -o example) || fail "building the sapphirerapids example"
  "$tmp/spr/example" >"$tmp/out" 2>"$tmp/err" && fail "an AVX-512 library ran on a CPU without AVX-512"
  grep -q "built for CPU 'sapphirerapids', and this CPU lacks avx512" "$tmp/err" || { fail "no CPU message:"; cat "$tmp/err"; }
fi

# The example refuses a length whose buffer size would wrap (was a write past a 5-byte malloc).
"$tmp/scratch/example" "time traveller" 3689348814741910324 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "absurd" "$tmp/err" || { fail "the example with a wrapping length:"; cat "$tmp/err"; }

# Nothing from outside reaches the generated C unescaped: a checkpoint path that ends the comment
# and adds a preprocessor line stays inside the comment (issue 25.4).
evil="$tmp/evil*/
#error injected
/*.safetensors"
mkdir -p "${evil%/*}" && cp "$tmp/scratch.safetensors" "$evil"
"$graphc" export --load "$evil" -o "$tmp/evil" --name evil >/dev/null 2>"$tmp/err" || { fail "export from an odd path"; cat "$tmp/err"; }
grep -q "^#error" "$tmp/evil/evil.h" && fail "the --load path injected a line into evil.h"
(cd "$tmp/evil" && "$cc" -std=c99 -Wall -Werror example.c libevil.a -lm -o example) || fail "building the odd path's example"

# Bad input: one line, non-zero, no partial directory.
expect_error "a name C reserves (its guard would be _STDINT_H)" "--name '_stdint' is not a C identifier" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/x" --name _stdint
expect_error "export without --load" "--load" -- "$graphc" export -o "$tmp/x"
expect_error "export without -o" "-o DIR" -- "$graphc" export --load "$tmp/scratch.safetensors"
expect_error "a name that is not a C identifier" "--name '9lives' is not a C identifier" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/x" --name 9lives
expect_error "a C keyword as the name" "--name 'int' is not a C identifier" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/x" --name int
expect_error "an unwritable directory" "cannot write the library" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o /proc/graphc-export
expect_error "an unknown CPU" "--target-cpu" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/x" --target-cpu pentium9
expect_error "a missing checkpoint" "cannot open" -- "$graphc" export --load "$tmp/none.safetensors" -o "$tmp/x"
expect_error "another model than expected" "holds model 'rnn-scratch', not 'gru'" -- \
  "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/x" --model gru
if command -v python3 >/dev/null; then
  for change in "hidden=32" "model=transformer"; do
    python3 - "$tmp/scratch.safetensors" "$tmp/bad.safetensors" "${change%%=*}" "${change#*=}" <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
h['__metadata__'][sys.argv[3]] = sys.argv[4]
j = json.dumps(h).encode(); j += b' ' * ((8 - len(j) % 8) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(j)) + j + b[8 + n:])
PY
    expect_error "a checkpoint with $change" "bad.safetensors: error: |unknown model 'transformer'" -- \
      "$graphc" export --load "$tmp/bad.safetensors" -o "$tmp/x"
  done
fi
[ ! -e "$tmp/x" ] || fail "a failed export left $tmp/x behind"
ls -a "$tmp" | grep -q '\.export-' && fail "a failed export left its staging directory behind"

# An existing directory gets the files; what else it holds stays.
mkdir -p "$tmp/existing" && echo keep >"$tmp/existing/notes.txt"
"$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/existing" >/dev/null || fail "export into an existing directory"
[ -s "$tmp/existing/libmodel.a" ] && [ -s "$tmp/existing/notes.txt" ] || fail "export into an existing directory"
# All or nothing there too: when one file cannot be replaced (example.c is a directory), the
# others keep their old contents (model.h was replaced before the failure).
mkdir -p "$tmp/allornothing/example.c" && echo "old header" >"$tmp/allornothing/model.h"
if "$graphc" export --load "$tmp/scratch.safetensors" -o "$tmp/allornothing" >/dev/null 2>"$tmp/err"; then
  fail "export over a directory named example.c succeeded"
else
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q "example.c is a directory" "$tmp/err" || fail "export over a directory: $(cat "$tmp/err")"
  [ "$(cat "$tmp/allornothing/model.h")" = "old header" ] || fail "a failed export replaced model.h"
  [ ! -e "$tmp/allornothing/libmodel.a" ] || fail "a failed export left libmodel.a"
fi
ls -a "$tmp" | grep -q '\.export-' && fail "a failed export into an existing directory left its staging directory"

[ $failures -eq 0 ] && echo "export tests passed" || echo "$failures export test(s) failed"
exit $((failures > 0))
