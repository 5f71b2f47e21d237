#!/usr/bin/env bash
# cmake/check_layers.sh SOURCE_DIR BUILD_DIR — fails when a layer's code reads
# a header of a layer it may not use (DESIGN.md, "Layering"): graph uses nothing
# of ours; the kernels, target and models use graph; passes use graph and
# target; codegen uses graph, target and the kernels; the driver uses graph,
# target, passes and models; runtime uses all of those, the kernels and codegen; the MPI module
# uses graph and runtime; tools and tests use anything. It reads the compiler's own record of
# every file each object was built from (the -MD .d files of a Makefile build,
# `ninja -t deps` of a Ninja one), so relative includes, `#  include`, macros
# and subfolders are all seen as the compiler saw them. Prints each offence as
# object: header.
set -uo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
declare -A allowed=(
  [graph]="graph"
  [kernels]="graph kernels"
  [target]="graph target"
  [passes]="graph target passes"
  [codegen]="graph kernels target codegen"
  [models]="graph models"
  [driver]="graph target passes models driver"
  [runtime]="graph kernels target passes models driver codegen runtime"
  [mpi]="graph runtime mpi"
)

# "object dependency" pairs, one per line, for the objects of layer $1.
dependencies() {
  local dir="$build/CMakeFiles/graphc_$1.dir"
  if [ -f "$build/build.ninja" ]; then
    ninja -C "$build" -t deps 2>/dev/null | awk -v obj="CMakeFiles/graphc_$1.dir/" '
      /^[^ ].*: #deps/ { cur = ($1 ~ obj) ? $1 : ""; next }
      cur != "" && NF == 1 { print cur, $1 }'
  else
    find "$dir" -name '*.o.d' -print0 | xargs -0 -r awk '
      FNR == 1 { obj = FILENAME }
      { for (i = 1; i <= NF; ++i) if ($i != "\\" && $i !~ /:$/) print obj, $i }'
  fi
}

# Each dependency inside the source tree (not the build tree's generated
# files), normalized (a/b/../c -> a/c) and made relative: "object top/rest".
ours() {
  awk -v src="$src/" -v build="$build/" -v bdir="$build" '
    function normal(p,   n, parts, out, i, k) {
      n = split(p, parts, "/"); k = 0
      for (i = 1; i <= n; ++i) {
        if (parts[i] == "" || parts[i] == ".") continue
        if (parts[i] == "..") { if (k > 0) --k; continue }
        out[++k] = parts[i]
      }
      p = ""; for (i = 1; i <= k; ++i) p = p "/" out[i]
      return p
    }
    { dep = $2; if (dep !~ /^\//) dep = bdir "/" dep; dep = normal(dep) "";
      if (index(dep "/", build) == 1 || index(dep, src) != 1) next
      print $1, substr(dep, length(src) + 1) }'
}

bad=0 seen=0
for layer in "${!allowed[@]}"; do
  records=$(dependencies "$layer")
  [ -n "$records" ] && seen=1
  while read -r object rel; do
    [ -n "$rel" ] || continue
    top=${rel%%/*}
    ok=0
    for a in ${allowed[$layer]}; do [ "$a" = "$top" ] && ok=1; done
    if [ $ok -eq 0 ]; then
      echo "${object#"$build"/}: error: $layer/ may not use $rel (layering: $layer uses ${allowed[$layer]})" >&2
      bad=1
    fi
  done < <(ours <<<"$records" | sort -u)
done
if [ $seen -eq 0 ]; then
  echo "check_layers: no dependency records under $build (build the layers first)" >&2
  exit 1
fi
exit $bad
