#!/usr/bin/env bash
# tests/plugin/run.sh BUILD_DIR SOURCE_DIR — installs graphc into a scratch
# prefix, builds examples/mymodel against it with find_package(graphc), and
# trains the plugin's model for a few steps; then checks that bad libraries
# get clear errors.
set -u
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install"; exit 1; }
# The package brings the book, bash completion and (with help2man) the man page.
cmp -s "$tmp/prefix/share/graphc/timemachine.txt" "$src/data/timemachine.txt" || fail "the book is not installed under share/graphc"
bash -n "$tmp/prefix/share/bash-completion/completions/graphc" || fail "the bash completion is not installed or not valid"
if command -v help2man >/dev/null; then
  grep -q '^\.SS "graphc export"' "$tmp/prefix/share/man/man1/graphc.1" || fail "the man page lacks the commands' help"
fi
# Completion lists graphc's commands and a command's flags.
(
  source "$tmp/prefix/share/bash-completion/completions/graphc"
  COMP_WORDS=("$tmp/prefix/bin/graphc" ex); COMP_CWORD=1; _graphc
  [ "${COMPREPLY[*]}" = "export" ] || { echo "FAIL: completing 'graphc ex' gave '${COMPREPLY[*]}'"; exit 1; }
  COMP_WORDS=("$tmp/prefix/bin/graphc" generate --prefix-f); COMP_CWORD=2; _graphc
  [ "${COMPREPLY[*]}" = "--prefix-file" ] || { echo "FAIL: completing '--prefix-f' gave '${COMPREPLY[*]}'"; exit 1; }
) || fail "bash completion"
graphc="$tmp/prefix/bin/graphc"
cmake -S "$src/examples/mymodel" -B "$tmp/example" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log"; fail "configuring the example against the installed package"; exit 1; }
cmake --build "$tmp/example" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "building the example plugin"; exit 1; }
lib="$tmp/example/libmymodel.so"
# MPI is a module loaded only for distributed runs: neither libgraphc nor a plugin links it.
if command -v ldd >/dev/null; then
  ldd "$lib" | grep -i "libmpi" && fail "the plugin links MPI: $(ldd "$lib" | grep -i libmpi | tr '\n' ' ')"
  ldd "$tmp/prefix/lib/libgraphc.so" | grep -qi "libmpi" && fail "the installed libgraphc links MPI"
  if "$graphc" --version | grep -q "MPI: on"; then
    [ -f "$tmp/prefix/lib/libgraphc_mpi.so" ] || fail "graphc says MPI is on but the MPI module is not installed"
  fi
fi
# The same plugin built without CMake, from the installed pkg-config file.
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs graphc) || fail "pkg-config graphc"
  c++ -shared -fPIC "$src/examples/mymodel/MyModel.cpp" $flags -o "$tmp/libpc.so" 2>"$tmp/pc.log" ||
    { cat "$tmp/pc.log"; fail "building the plugin with pkg-config's flags"; }
  "$tmp/prefix/bin/graphc" models --model-lib "$tmp/libpc.so" | grep -q "^mymodel " || fail "the pkg-config-built plugin does not load"
fi

"$graphc" models --model-lib "$lib" >"$tmp/models.txt" || fail "graphc models --model-lib"
grep -q "^mymodel " "$tmp/models.txt" || fail "graphc models does not list mymodel"
grep -q -- "--set embed=32" "$tmp/models.txt" || fail "graphc models does not list mymodel's hyperparameter"
# No size flags: the model's own defaults (hidden 128, 2 layers, embed 32), recorded in the checkpoint.
"$graphc" train --model-lib "$lib" --model mymodel --batch-size 4 --num-steps 5 --max-tokens 2000 \
  --epochs 2 --sample-every 0 --save "$tmp/my.safetensors" >"$tmp/train.out" 2>&1 || { cat "$tmp/train.out"; fail "training the plugin model"; }
# shapes CHECKPOINT: "name shape" per tensor, sorted.
shapes() { python3 -c 'import json,struct,sys; b=open(sys.argv[1],"rb").read(); n=struct.unpack("<Q",b[:8])[0]; h=json.loads(b[8:8+n]); print("\n".join(sorted(k+" "+"x".join(map(str,v["shape"])) for k,v in h.items() if k!="__metadata__")))' "$1"; }
if command -v python3 >/dev/null; then
  shapes "$tmp/my.safetensors" >"$tmp/shapes.txt"
  for want in "embed0.table 28x32" "rnn0.input.kernel 32x128" "rnn1.recurrent.kernel 128x128" "dense0.kernel 128x28"; do
    grep -qx "$want" "$tmp/shapes.txt" || fail "mymodel at its defaults has no '$want': $(tr '\n' ' ' <"$tmp/shapes.txt")"
  done
  grep -q "^rnn2" "$tmp/shapes.txt" && fail "mymodel at its defaults has a third layer"
  # --set and --num-layers reach the model; generate rebuilds it from the checkpoint's settings.
  "$graphc" train --model-lib "$lib" --model mymodel --hidden 16 --num-layers 3 --set embed=8 --batch-size 4 --num-steps 5 \
    --max-tokens 2000 --epochs 1 --sample-every 0 --save "$tmp/my3.safetensors" >/dev/null 2>&1 || fail "train --set embed=8 --num-layers 3"
  shapes "$tmp/my3.safetensors" | grep -qx "embed0.table 28x8" || fail "--set embed=8 did not reach the model"
  shapes "$tmp/my3.safetensors" | grep -qx "rnn2.input.kernel 16x16" || fail "--num-layers 3 did not reach the model"
  "$graphc" generate --model-lib "$lib" --load "$tmp/my3.safetensors" --length 5 >/dev/null || fail "generate with the checkpoint's settings"
  "$graphc" compile --model-lib "$lib" --model mymodel --set embed=8 -o "$tmp/my.gir" || fail "compile --set"
  grep -q "%embed0.table = param.*f32\[28,8\]" "$tmp/my.gir" || fail "compile --set embed=8"
fi
grep -q "perplexity" "$tmp/train.out" || fail "the plugin run printed no perplexity"
# Loaded without its library, a plugin's checkpoint names the library it needs (one line, exit 1).
if "$graphc" generate --load "$tmp/my.safetensors" --length 3 >/dev/null 2>"$tmp/nolib.err"; then
  fail "generate without --model-lib loaded a plugin's checkpoint"
else
  grep -q "the checkpoint's model 'mymodel' comes from a plugin library: pass --model-lib .*libmymodel.so" "$tmp/nolib.err" &&
    [ "$(wc -l <"$tmp/nolib.err")" -eq 1 ] || fail "no library named: $(cat "$tmp/nolib.err")"
fi
"$graphc" generate --model-lib "$lib" --load "$tmp/my.safetensors" --length 10 >/dev/null 2>"$tmp/gen.err" ||
  { cat "$tmp/gen.err"; fail "generating from the plugin model's checkpoint"; }

# expect_error PATTERN COMMAND...: non-zero exit (not a signal) and one stderr line matching PATTERN.
expect_error() {
  local pattern=$1; shift
  "$@" >/dev/null 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ] || [ $rc -gt 125 ]; then fail "$*: exit code $rc"; return; fi
  [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qE -- "$pattern" "$tmp/err" || { fail "$*: stderr:"; cat "$tmp/err"; }
}
expect_error "--model-lib: no such file" "$graphc" train --model-lib "$tmp/none.so" --model mymodel
expect_error "--set: model 'mymodel' has no hyperparameter 'width' \(it has: embed\)" \
  "$graphc" train --model-lib "$lib" --model mymodel --set width=3 --epochs 1
expect_error "--set: 'lots' is not a finite number" "$graphc" train --model-lib "$lib" --model mymodel --set embed=lots
# build_plugin NAME: $tmp/NAME.cpp against the installed graphc, as $tmp/libNAME.so.
build_plugin() {
  g++ -std=c++20 -shared -fPIC -I "$tmp/prefix/include/graphc" -o "$tmp/lib$1.so" "$tmp/$1.cpp" -L "$tmp/prefix/lib" -lgraphc
}
# A model that says it stacks but ignores --num-layers is refused, not run at the wrong size.
cat >"$tmp/flat.cpp" <<'CPP'
#include "models/Plugin.h"
using namespace graphc;
static Value build(Builder& b, Value tokens, const ModelConfig& c) {
  return nn::Dense(b, c.vocab)(nn::timeMajor(nn::RNN(b, c.hidden).scan(nn::oneHotSteps(tokens, c.vocab))));
}
static void reg() { registerModel({"flat", "ignores --num-layers", 16, build}); }
GRAPHC_MODEL_PLUGIN(reg)
CPP
build_plugin flat
expect_error "--num-layers 2: model 'flat' builds the same parameters as with 1 layer" \
  "$graphc" train --model-lib "$tmp/libflat.so" --model flat --num-layers 2 --epochs 1
# Logits in batch-major order are refused before anything trains, saying what was found.
cat >"$tmp/bm.cpp" <<'CPP'
#include "models/Plugin.h"
using namespace graphc;
static Value build(Builder& b, Value tokens, const ModelConfig& c) {
  Value rows = nn::Dense(b, c.vocab)(nn::timeMajor(nn::RNN(b, c.hidden).scan(nn::oneHotSteps(tokens, c.vocab))));
  Value steps = reshape(rows, {c.numSteps, c.batchSize, c.vocab});
  return reshape(transpose(steps, {1, 0, 2}), {c.batchSize * c.numSteps, c.vocab});
}
static void reg() { registerModel({"batchmajor", "batch-major logits", 16, build, false}); }
GRAPHC_MODEL_PLUGIN(reg)
CPP
build_plugin bm
expect_error "model 'batchmajor': its logits are not in time-major order: .* changed logits rows \\[1, 2\\]" \
  "$graphc" train --model-lib "$tmp/libbm.so" --model batchmajor --epochs 1
expect_error "model 'batchmajor': its logits are not in time-major order" \
  "$graphc" compile --model-lib "$tmp/libbm.so" --model batchmajor
# A model whose code makes a mistake: its error names the model, the scope and the plugin's own line;
# `graphc models` lists it beside the others, with that error, and exits 1.
cat >"$tmp/wide.cpp" <<'CPP'
#include "models/Plugin.h"
using namespace graphc;
static Value build(Builder& b, Value tokens, const ModelConfig& c) {
  Value h = nn::timeMajor(nn::RNN(b, c.hidden).scan(nn::oneHotSteps(tokens, c.vocab)));
  Builder::Scope head(b, "head");
  Value w = b.param("w", {c.hidden + 1, c.vocab}, Init::lecunNormal());
  return matmul(h, w);
}
static void reg() { registerModel({"wide", "a head one row too wide", 16, build, false}); }
GRAPHC_MODEL_PLUGIN(reg)
CPP
build_plugin wide
expect_error "model 'wide' \(in scope 'head'\) at .*wide.cpp:7: builder: matmul: .*%head.w : f32\[17,28\]" \
  "$graphc" train --model-lib "$tmp/libwide.so" --model wide --epochs 1
if "$graphc" models --model-lib "$lib" --model-lib "$tmp/libwide.so" >"$tmp/models.out" 2>"$tmp/models.err"; then
  fail "graphc models exits 0 with a broken model"
else
  grep -q "^mymodel .* [0-9][0-9]*  " "$tmp/models.out" && grep -q "^lstm " "$tmp/models.out" &&
    grep -q "^wide .* broken  a head one row too wide" "$tmp/models.out" &&
    grep -q "cannot be built: model 'wide' (in scope 'head') at .*wide.cpp:7" "$tmp/models.out" &&
    grep -q "1 of the .* models cannot be built (wide)" "$tmp/models.err" ||
    fail "graphc models with a broken model: $(cat "$tmp/models.out" "$tmp/models.err")"
fi
expect_error "unknown model 'theirs'" "$graphc" train --model-lib "$lib" --model theirs
printf 'int nothing_here() { return 0; }\n' >"$tmp/plain.cpp"
g++ -shared -fPIC -o "$tmp/libplain.so" "$tmp/plain.cpp"
expect_error "is not a graphc model library" "$graphc" train --model-lib "$tmp/libplain.so" --model mymodel
printf 'extern "C" int graphc_plugin_abi() { return 0; }\nextern "C" const char* graphc_plugin_version() { return "0.0.1"; }\nextern "C" void graphc_plugin_register() {}\n' >"$tmp/old.cpp"
g++ -shared -fPIC -o "$tmp/libold.so" "$tmp/old.cpp"
expect_error "built against graphc 0.0.1 \\(plugin ABI 0\\).*rebuild" "$graphc" train --model-lib "$tmp/libold.so" --model mymodel
printf 'garbage' >"$tmp/libjunk.so"
expect_error "--model-lib: cannot load" "$graphc" train --model-lib "$tmp/libjunk.so" --model mymodel

if [ $failures -ne 0 ]; then echo "$failures plugin check(s) failed"; exit 1; fi
echo "all plugin checks passed"
