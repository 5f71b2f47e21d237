#!/usr/bin/env bash
# scripts/setup.sh — installs the Debian packages graphc needs (only those
# missing), then configures and builds graphc in build/ (Release).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake make g++ llvm-19-dev clang-19 libeigen3-dev doctest-dev libcli11-dev nlohmann-json3-dev libfmt-dev help2man libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
