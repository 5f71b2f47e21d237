#!/usr/bin/env python3
"""tests/cli/peak_memory.py GRAPHC TMPDIR — graphc's peak memory on hostile
inputs stays under 1 GiB (issue 25): IR files of the densest text up to the
parser's bound and one past it, a 200 MB one-line data file in every text
mode, a data file just under its 1 GiB bound, texts of millions of distinct
words, a compile cache whose entries are forged to their bound, checkpoints
that claim huge tensors, one just under the 4 GiB bound whose tensors are not
the model's (read only as far as its header), and a training checkpoint
padded to that bound (--resume reads only its own tensors). Each case runs
graphc as a child and reads its own peak RSS (wait4), so the cases do not
mask each other. Prints a table; exits 1 naming each case over the bound or
with the wrong outcome."""
import json
import os
import struct
import subprocess
import sys

LIMIT_MB = 1024
graphc, tmp = sys.argv[1], sys.argv[2]


def peak(args):
    """(exit code, peak RSS in MB, last stderr line) of `graphc ARGS`."""
    with open(os.path.join(tmp, "peak.err"), "w+b") as err:
        child = subprocess.Popen([graphc] + args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss // 1024, lines[-1] if lines else ""


def dense_ir(path, max_bytes):
    """One node per short line, the most nodes per byte: %i = neg(%i-1) : f32[1]."""
    with open(path, "w") as f:
        f.write("graph @g {\n%0 = input : f32[1]\n")
        i, size = 1, 40
        while True:
            line = f"%{i} = neg(%{i - 1}) : f32[1]\n"
            if size + len(line) > max_bytes - 40:
                break
            f.write(line)
            size += len(line)
            i += 1
        f.write(f'output "y" = %{i - 1}\n}}\n')


def huge_checkpoint(path):
    """A safetensors header naming a 4 TiB tensor over 16 bytes of data."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 30, 1024], "data_offsets": [0, 1 << 42]}}).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + b"\0" * 16)


def sparse_checkpoint(path):
    """A graphc checkpoint of rnn-scratch whose one tensor, 'junk', fills the file to just under the
    4 GiB bound: a sparse file, so it costs no disk, but read whole it would cost 4 GiB."""
    vocab = json.dumps(["<unk>", " ", "e", "t"])
    meta = {"format": "graphc-checkpoint-1", "model": "rnn-scratch", "hidden": "8", "num_layers": "1", "vocab": vocab,
            "text": "d2l"}
    count = ((4 << 30) - (1 << 20)) // 4
    header = json.dumps({"__metadata__": meta, "junk": {"dtype": "F32", "shape": [count], "data_offsets": [0, 4 * count]}})
    header += " " * ((8 - len(header) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header.encode())
        f.truncate(8 + len(header) + 4 * count)


def padded_training_checkpoint(path):
    """A real training checkpoint (rnn-scratch, 2,000 tokens, 1 epoch) with a tensor 'junk' appended that
    fills the file to just under the 4 GiB bound (sparse): --resume needs only the run's own tensors."""
    subprocess.run([graphc, "train", "--hidden", "8", "--epochs", "1", "--sample-every", "0", "--max-tokens", "2000",
                    "--save", path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(path, "rb") as f:
        blob = f.read()
    length = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + length]), blob[8 + length:]
    count = ((4 << 30) - (1 << 20) - len(blob)) // 4
    header["junk"] = {"dtype": "F32", "shape": [count], "data_offsets": [len(data), len(data) + 4 * count]}
    text = json.dumps(header)
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + data)
        f.truncate(8 + len(text) + len(data) + 4 * count)


def forged_cache(directory, args):
    """A compile cache whose entries for `args`' run are grown to the 256 MiB an entry may be (sparse;
    their checksums no longer match): each is read, refused and rebuilt."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    subprocess.run([graphc] + args + ["--cache-dir", directory], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    entries = [name for name in os.listdir(directory) if name.endswith(".gobj")]
    assert entries, "the run wrote no cache entry"
    for name in entries:
        os.truncate(os.path.join(directory, name), 256 << 20)


ir_limit = 32 << 20
dense_ir(os.path.join(tmp, "dense.gir"), ir_limit)
dense_ir(os.path.join(tmp, "over.gir"), ir_limit + (1 << 20))
with open(os.path.join(tmp, "oneline.txt"), "w") as f:
    chunk = "the time machine by h g wells was first published in 1895 " * 1000
    for _ in range((200 << 20) // len(chunk)):
        f.write(chunk)
with open(os.path.join(tmp, "distinct.txt"), "w") as f:  # 12M distinct words: a vocabulary too big to keep
    for start in range(0, 12_000_000, 100_000):
        f.write(" ".join(f"w{i}" for i in range(start, start + 100_000)) + "\n")
with open(os.path.join(tmp, "too-distinct.txt"), "w") as f:  # 17M: more than graphc counts
    for start in range(0, 17_000_000, 100_000):
        f.write(" ".join(f"w{i}" for i in range(start, start + 100_000)) + "\n")
huge_checkpoint(os.path.join(tmp, "huge.safetensors"))
sparse_checkpoint(os.path.join(tmp, "sparse.safetensors"))
padded_training_checkpoint(os.path.join(tmp, "padded.safetensors"))
small_jit = ["train", "--engine", "jit", "--hidden", "8", "--epochs", "1", "--sample-every", "0", "--max-tokens", "2000"]
forged_cache(os.path.join(tmp, "cache"), small_jit)

small = ["--hidden", "8", "--epochs", "1", "--sample-every", "0", "--max-tokens", "2000"]
cases = [  # (name, args, whether it succeeds)
    ("IR of 32 MiB, one node per line", ["opt", os.path.join(tmp, "dense.gir"), "-o", os.devnull], True),
    ("IR past the bound", ["opt", os.path.join(tmp, "over.gir"), "-o", os.devnull], False),
    ("200 MB one-line data, --text d2l", ["train", "--data", os.path.join(tmp, "oneline.txt")] + small, True),
    ("200 MB one-line data, --text chars", ["train", "--text", "chars", "--data", os.path.join(tmp, "oneline.txt")] + small, True),
    ("200 MB one-line data, --text words", ["train", "--text", "words", "--data", os.path.join(tmp, "oneline.txt")] + small, True),
    ("12M distinct words, --text words", ["train", "--text", "words", "--data", os.path.join(tmp, "distinct.txt")] + small, False),
    ("17M distinct words, --text words", ["train", "--text", "words", "--data", os.path.join(tmp, "too-distinct.txt")] + small, False),
    ("one-line data just under 1 GiB, --text d2l", ["train", "--data", os.path.join(tmp, "gigabyte.txt")] + small, True),
    ("cache entries forged to 256 MiB", small_jit + ["--cache-dir", os.path.join(tmp, "cache")], True),
    ("checkpoint claiming 4 TiB", ["generate", "--load", os.path.join(tmp, "huge.safetensors")], False),
    ("resume of that checkpoint", ["train", "--resume", os.path.join(tmp, "huge.safetensors"), "--epochs", "2"], False),
    ("4 GiB checkpoint of other tensors", ["generate", "--load", os.path.join(tmp, "sparse.safetensors")], False),
    ("resume of a 4 GiB checkpoint, 3 KB its own", ["train", "--resume", os.path.join(tmp, "padded.safetensors"),
                                                  "--epochs", "2"], True),
]


def gigabyte_text(path):
    """One line of text, 1 MiB short of the data file's 1 GiB bound (written only for its case: it is big)."""
    chunk = ("the time machine by h g wells was first published in 1895 " * 17000)[: 1 << 20]
    with open(path, "w") as f:
        for _ in range(1023):
            f.write(chunk)


failures = 0
print(f"{'case':<46} {'exit':>4} {'peak MB':>8}")
for name, args, succeeds in cases:
    big = os.path.join(tmp, "gigabyte.txt")
    if big in args:
        gigabyte_text(big)
    code, mb, last = peak(args)
    if big in args:
        os.remove(big)
    print(f"{name:<46} {code:>4} {mb:>8}")
    if mb > LIMIT_MB:
        print(f"FAIL: {name}: peak {mb} MB > {LIMIT_MB} MB")
        failures += 1
    if (code == 0) != succeeds or code < 0 or code > 125:
        print(f"FAIL: {name}: exit {code}: {last}")
        failures += 1
sys.exit(1 if failures else 0)
