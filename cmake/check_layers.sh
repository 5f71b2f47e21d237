#!/usr/bin/env bash
# cmake/check_layers.sh SOURCE_DIR — fails when a layer includes a header of a
# layer it may not use (DESIGN.md, "Layering"): graph uses nothing of ours;
# passes, codegen and models use graph; runtime uses graph, passes and codegen;
# tools and tests use anything. Prints each offending line as file:line.
set -uo pipefail
cd "$1"
declare -A allowed=(
  [graph]="graph"
  [passes]="graph passes"
  [codegen]="graph codegen"
  [models]="graph models"
  [runtime]="graph passes codegen runtime"
)
bad=0
for layer in "${!allowed[@]}"; do
  while IFS= read -r hit; do
    file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}
    target=$(sed -E 's/.*#include "([a-z]+)\/.*/\1/' <<<"$rest")
    ok=0
    for a in ${allowed[$layer]}; do [ "$a" = "$target" ] && ok=1; done
    if [ $ok -eq 0 ]; then
      echo "$file:$line: error: $layer/ may not include $target/ (layering: $layer uses ${allowed[$layer]})" >&2
      bad=1
    fi
  done < <(grep -n '^#include "[a-z]*/' "$layer"/*.cpp "$layer"/*.h "$layer"/*.def 2>/dev/null)
done
exit $bad
