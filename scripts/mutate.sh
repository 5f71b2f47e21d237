#!/usr/bin/env bash
# scripts/mutate.sh [NAME...] — mutation testing: plants each bug of the list
# below in a copy of the tree, builds it, runs the unit suite and the pass
# tests, and reports whether a test noticed (killed) or not (SURVIVED). Every
# mutation here once survived the suite or is a rule a test must guard; the
# list grows with each hole found. Exit status 1 when any survives or fails to
# apply. Takes about a minute per mutation (an incremental build and the suite);
# not part of CI.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# name :: file :: sed expression (must change the file) :: what it breaks
mutations=(
  "fold-minimum-as-maximum :: graph/eval/Evaluate.cpp :: /case OpKind::Minimum:/,+1 s/x < y/x > y/ :: minimum computes maximum (fold and interpreter alike)"
  "cse-ignores-attributes :: passes/CSE.cpp :: /for (const auto& \[k, v\] : n.attrs) key +=/d :: cse merges nodes whose attributes differ"
  "plan-epilogue-lives :: passes/Plan.cpp :: s/int64_t through = g.nodes\[i\].op == OpKind::PackedMatMul \&\& epilogueNext ? int64_t(i) + 1 : int64_t(i);/int64_t through = int64_t(i);/ :: a product's operands die before its epilogue has run"
  "plan-invariant-neighbour :: graph/Verifier.cpp :: s/if (!clash \&\& next != live.begin() \&\&/if (!clash \&\& false \&\& next != live.begin() \&\&/ :: the plan invariant misses a live buffer that reaches in from below"
  "dce-drops-effects :: passes/DCE.cpp :: s/if (isSignature(n.op) || hasTrait(n.op, kEffect)) live\[i\] = true;/if (isSignature(n.op)) live[i] = true;/ :: dce removes an unread collective"
  "tanh-gradient-sign :: passes/Autodiff.cpp :: s/case OpKind::Tanh: gx = {gy \* (1.0 - y \* y)}; break;/case OpKind::Tanh: gx = {gy * (y * y - 1.0)}; break;/ :: tanh's gradient has the wrong sign"
  "fold-identity-sub :: passes/Fold.cpp :: s/case OpKind::Sub: return isSplat(n.operands\[1\], 0.0) ? n.operands\[0\] : -1;/case OpKind::Sub: return isSplat(n.operands[0], 0.0) ? n.operands[1] : -1;/ :: fold takes 0 - x for x"
  "fold-tanh-in-double :: passes/Fold.cpp :: s/  return evaluateNode(oneElement(n), ptrs).at(0);/  if (n.op == OpKind::Tanh) return std::tanh(double(operands[0].at(0)));\n  return evaluateNode(oneElement(n), ptrs).at(0);/ :: fold computes tanh in double, not as the evaluator (3,634 of 12,000 constants differed so)"
  "fold-reduce-sum-count :: passes/Fold.cpp :: s/double sum = values\[0\] \* count;/double sum = values[0];/ :: fold sums a splat as one element"
  "cse-commutes-sub :: passes/CSE.cpp :: s/if (hasTrait(n.op, kCommutative)) std::sort/if (true) std::sort/ :: cse takes x - y for y - x"
)

work=${MUTATE_DIR:-/tmp/graphc-mutate}
mkdir -p "$work"
rm -rf "$work/src" && mkdir -p "$work/src"
git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$work/src"
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
filecheck=/usr/lib/llvm-19/bin/FileCheck

survived=0
printf '%-26s %-9s %s\n' mutation result "what it breaks"
for entry in "${mutations[@]}"; do
  name=${entry%% :: *} rest=${entry#* :: }
  file=${rest%% :: *} rest=${rest#* :: }
  expr=${rest% :: *} what=${rest##* :: }
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  target="$work/src/$file"
  cp "$target" "$work/original"
  sed -i "$expr" "$target"
  if cmp -s "$target" "$work/original"; then
    printf '%-26s %-9s %s\n' "$name" "NO-APPLY" "the expression matched nothing in $file: update the list"
    survived=1
    continue
  fi
  result=killed
  if ! cmake --build "$work/build" -j"$(nproc)" --target graphc graphc_tests >"$work/$name.log" 2>&1; then
    result="killed(build)"
  elif (cd "$work/build" && ./graphc_tests >>"$work/$name.log" 2>&1) &&
       bash "$work/src/tests/passes/run.sh" "$work/build/graphc" "$filecheck" >>"$work/$name.log" 2>&1; then
    result=SURVIVED
    survived=1
  fi
  printf '%-26s %-9s %s\n' "$name" "$result" "$what"
  cp "$work/original" "$target"
done
# Leave the copy built as the tree is.
cmake --build "$work/build" -j"$(nproc)" --target graphc graphc_tests >/dev/null 2>&1
exit $survived
