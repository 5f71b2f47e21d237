#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] — builds the libFuzzer harnesses (fuzz/: IR text,
# checkpoint files, --resume metadata, the exported library's C API, data
# texts read in pieces against read whole) with
# clang and ASan + UBSan, seeds their corpora from the project's IR files and
# checkpoints, and runs each for SECONDS (default 60). A finding is copied to
# tests/fuzz-regressions/HARNESS-NAME and the script exits 1; every run replays
# those files first, so a finding stays fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
./scripts/setup.sh >/dev/null
need=()
command -v clang++ >/dev/null || need+=(clang)
dpkg-query -W -f='${Status}' libclang-rt-14-dev 2>/dev/null | grep -q "install ok installed" || need+=(libclang-rt-14-dev)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

out=build-fuzz
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -I. -I/usr/include/eigen3
  -isystem /usr/lib/llvm-19/include -DLLVM_DISABLE_ABI_BREAKING_CHECKS_ENFORCING=1)
graph_src=(graph/*.cpp graph/eval/*.cpp)
# The passes, as the driver lists them (driver/, which builds models too), check the code generator's
# kernel rules (target/, whose target facts come from LLVM).
ir_src=(fuzz/ir_fuzzer.cpp "${graph_src[@]}" passes/*.cpp target/*.cpp models/*.cpp driver/*.cpp)
checkpoint_src=(fuzz/checkpoint_fuzzer.cpp runtime/Checkpoint.cpp "${graph_src[@]}")
# Texts read in pieces against the same text read whole (runtime/TextPieces.cpp and what reads it).
text_src=(fuzz/text_fuzzer.cpp runtime/Corpus.cpp runtime/TextPieces.cpp runtime/TokenCounts.cpp runtime/Words.cpp
  "${graph_src[@]}")
# The --resume metadata harness reads train's settings code (tools/graphc/TrainSettings.cpp), whose
# headers include LLVM's; it calls nothing of LLVM's.
resume_src=(fuzz/resume_fuzzer.cpp tools/graphc/TrainSettings.cpp "${graph_src[@]}")
echo "fuzz: building the harnesses"
# Each source is compiled once, nproc at a time (the harnesses share graph/), then each harness is linked
# from its objects: half the time of compiling each harness's sources in one command.
objects() { for f in "$@"; do echo "$out/obj/$f.o"; done; }
mkdir -p "$out/obj"
printf '%s\n' "${ir_src[@]}" "${checkpoint_src[@]}" "${text_src[@]}" "${resume_src[@]}" | sort -u |
  xargs -P "$(nproc)" -I{} sh -c 'mkdir -p "$(dirname "$1")" && shift && clang++ "$@" 2>&1' _ "$out/obj/{}.o" \
    "${flags[@]}" -fsanitize=fuzzer-no-link -c {} -o "$out/obj/{}.o" >"$out/build.log" ||
  { cat "$out/build.log"; exit 1; }
link=(clang++ -fsanitize=fuzzer,address,undefined)
"${link[@]}" -o "$out/ir_fuzzer" $(objects "${ir_src[@]}") -L/usr/lib/llvm-19/lib -Wl,-rpath,/usr/lib/llvm-19/lib \
  -lLLVM -lfmt
"${link[@]}" -o "$out/checkpoint_fuzzer" $(objects "${checkpoint_src[@]}") -lfmt
"${link[@]}" -o "$out/text_fuzzer" $(objects "${text_src[@]}") -lfmt
"${link[@]}" -o "$out/resume_fuzzer" $(objects "${resume_src[@]}") -lfmt
# The exported API (fuzz/export_api_fuzzer.c) against a small exported model: a transformer whose
# context of 4 is soon used up (the refill), on UTF-8 text (multi-byte tokens).
for i in $(seq 40); do printf 'The Time Machine, %s: naïve café — días. ' "$i"; done >"$out/utf8.txt"
build/graphc train --model gpt --num-layers 1 --hidden 16 --set heads=2,context=4 --text chars --data "$out/utf8.txt" \
  --batch-size 2 --num-steps 4 --max-tokens 0 --epochs 1 --sample-every 0 --save "$out/fz.safetensors" \
  >"$out/fz-train.log" 2>&1 || { cat "$out/fz-train.log"; exit 1; }
build/graphc export --load "$out/fz.safetensors" -o "$out/export-fz" --name fz >/dev/null
clang -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I"$out/export-fz" \
  -o "$out/export_fuzzer" fuzz/export_api_fuzzer.c "$out/export-fz/libfz.a" -lm -lpthread

# Seed corpora: every IR file the tests use; checkpoints the tests' crafted ones and a trained one.
mkdir -p "$out/corpus-ir" "$out/corpus-checkpoint" "$out/corpus-resume" "$out/corpus-export" "$out/corpus-text"
# Texts: a piece size byte, then the text (a BOM, CR line ends, multi-byte characters).
printf '\x00\xef\xbb\xbfThe Time\r\nMachine,\r\rby H. G. Wells \xc3\xa9\xe2\x80\x94\xf0\x9f\x98\x80 na\xc3\xafve\n' >"$out/corpus-text/mixed"
head -c 3000 data/timemachine.txt | { printf '\x05'; cat; } >"$out/corpus-text/book"
# The exported API: a few call sequences (fuzz/export_api_fuzzer.c reads an op byte, then its arguments).
printf '\x00\x00\x05hello\x02\x10\x03' >"$out/corpus-export/feed-generate"
printf '\x01\x10\x00\x08naïve\x03\x20\x05\x07\x06\x01\xff\xff\xff\x7f\x00' >"$out/corpus-export/init-sampled-step"
# --resume metadata: KEY=VALUE lines over a valid record (fuzz/resume_fuzzer.cpp).
printf 'hidden=32\n' >"$out/corpus-resume/hidden"
printf 'perplexities=[3.5,2.25,1.5]\ngrad_norms=[0.5,null,0.25]\n' >"$out/corpus-resume/epochs"
printf 'settings={"dropout":0.1}\nmodel=gpt\n' >"$out/corpus-resume/settings"
printf 'optimizer=adam\nbeta1=0.9\nlr_schedule=cosine\nmin_lr=0.001\n' >"$out/corpus-resume/adam"
cp tests/ir/*.gir tests/bad/*.gir tests/passes/*.gir "$out/corpus-ir/"
if [ -x build/graphc ]; then
  build/graphc train --hidden 8 --batch-size 2 --num-steps 3 --max-tokens 500 --epochs 1 --sample-every 0 \
    --save "$out/corpus-checkpoint/tiny.safetensors" >/dev/null 2>&1 || true
fi
cp build/test-hostile/*.safetensors "$out/corpus-checkpoint/" 2>/dev/null || true

mkdir -p tests/fuzz-regressions
status=0
for harness in ir checkpoint resume export text; do
  # Every earlier finding first: each must now be handled.
  regressions=(tests/fuzz-regressions/"$harness"-*)
  if [ -e "${regressions[0]}" ]; then
    "$out/${harness}_fuzzer" "${regressions[@]}" >"$out/$harness-regressions.log" 2>&1 ||
      { echo "fuzz: a $harness regression input fails again; see $out/$harness-regressions.log"; status=1; }
  fi
  echo "fuzz: $harness for ${seconds}s"
  rm -rf "$out/findings-$harness"; mkdir -p "$out/findings-$harness"
  if ! "$out/${harness}_fuzzer" "$out/corpus-$harness" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=4096 -artifact_prefix="$out/findings-$harness/" -print_final_stats=1 2>"$out/$harness.log"; then
    status=1
    for f in "$out/findings-$harness"/*; do
      [ -e "$f" ] && cp "$f" "tests/fuzz-regressions/$harness-$(basename "$f")"
    done
    echo "fuzz: $harness found a problem; see $out/$harness.log (the input is in tests/fuzz-regressions/)"
  fi
  grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$out/$harness.log" | tail -1 || true
done
exit $status
