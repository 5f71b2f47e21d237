#!/usr/bin/python3
"""bench/bench.py — graphc against PyTorch on the seed training step; prints a table.

Run through bench/run.sh, which builds graphc in Release and installs PyTorch.
Contenders alternate within each round, at 1 and 2 threads, and the table
reports medians, since this machine is noisy. No timings are asserted anywhere.
"""
import argparse
import atexit
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHC = os.path.join(ROOT, "build", "graphc")
B, T, H, V = 32, 35, 512, 28
FLOPS_PER_TOKEN = 6 * H * H + 6 * H * V  # forward + backward products: 1.65 MFLOP


def run(cmd, env=None):
    """Runs a command; returns (stdout, wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    out, err = proc.communicate()
    _, status, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    return out, seconds


def rss_mib(cmd, env=None):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed")
    return usage.ru_maxrss / 1024


def has_avx512():
    with open("/proc/cpuinfo") as f:
        return "avx512f" in f.read()


def torch_env(threads):
    """The PyTorch scripts pin their BLAS threads and kernels themselves (bench/torch_threads.py)."""
    env = dict(os.environ)
    if threads > 1:
        env["OMP_WAIT_POLICY"] = "passive"
    return env


def scratch_dir(prefix):
    """A temporary directory (compile caches, metrics files) removed when the bench exits, however it exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def steady_tps(j, metrics, epochs):
    """A graphc run's tokens/s after its first epoch, from its --json line and its --metrics CSV, as the PyTorch and
    oneDNN harnesses measure theirs after warm-up steps: the first steps fault in the arena and the team's buffers,
    and on this VM, after an idle second, two threads' first epoch took 0.13-0.16 s against 0.044 s later, a third
    of a 6-epoch sample."""
    if epochs < 2:
        return j["tokens_per_sec"]
    with open(metrics) as f:
        first_epoch_seconds = float(next(csv.DictReader(f))["seconds"])  # the CSV's seconds are cumulative
    tokens_per_epoch = j["tokens_per_sec"] * j["seconds"] / epochs  # every epoch has the same steps
    return tokens_per_epoch * (epochs - 1) / (j["seconds"] - first_epoch_seconds)


def graphc_tps(threads, epochs, cache, model="rnn-scratch", rows=True, target_cpu="host"):
    """graphc's steady tokens/s (steady_tps). rows: a shard per thread, graphc's fastest way to use idle threads;
    else the default decomposition (runtime/Decomposition.h: the same for the seed and the module models)."""
    with tempfile.TemporaryDirectory(prefix="graphc-bench-") as tmp:
        metrics = os.path.join(tmp, "metrics.csv")
        shards = ["--shards", str(threads)] if rows else []
        out, _ = run([GRAPHC, "train", "--model", model, "--epochs", str(epochs), "--sample-every", "0", "--threads",
                      str(threads), "--target-cpu", target_cpu] + shards +
                     ["--json", "--cache-dir", cache, "--metrics", metrics])
        return steady_tps(json.loads(out.strip().splitlines()[-1]), metrics, epochs)


def torch_tps(variant, threads, steps, hidden=H):
    out, _ = run(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_rnn.py"), variant, str(threads), str(steps),
                  str(hidden)], env=torch_env(threads))
    return float(out.strip())


ONEDNN_BIN = os.path.join(ROOT, "build", "onednn_rnn")


def build_onednn():
    subprocess.check_call(["g++", "-O2", "-march=native", "-std=c++17", "-o", ONEDNN_BIN,
                           os.path.join(ROOT, "bench", "onednn_rnn.cpp"), "-ldnnl"])


def onednn_tps(cell, threads, steps, hidden=H, max_isa=None):
    """oneDNN's tokens/s; max_isa: the instruction set it may use at most (ONEDNN_MAX_CPU_ISA, e.g. AVX2)."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OMP_WAIT_POLICY"] = "active"  # passive waiting halves its 2-thread speed
    if max_isa:
        env["ONEDNN_MAX_CPU_ISA"] = max_isa
    out, _ = run([ONEDNN_BIN, cell, str(hidden), str(steps)], env=env)
    return float(out.strip())


def module_models(rounds, epochs, steps, cache):
    """graphc's module models at their default size (hidden 256) against PyTorch's fused cells."""
    pairs = [("rnn", "nnrnn"), ("gru", "nngru"), ("lstm", "nnlstm")]
    samples = {}
    onednn = lambda model, t: onednn_tps(model, t, steps, 256)
    for model, _ in pairs:
        graphc_tps(1, 1, cache, model)  # compile once
    for r in range(rounds):
        for t in (1, 2):
            for model, variant in pairs:
                g = graphc_tps(t, epochs, cache, model)
                p = torch_tps(variant, t, steps, 256)
                d = onednn(model, t)
                samples.setdefault((model, t), []).append(g)
                samples.setdefault((variant, t), []).append(p)
                samples.setdefault(("onednn " + model, t), []).append(d)
                print(f"  round {r + 1} threads {t} {model}: graphc {g:,.0f}, torch {p:,.0f}, oneDNN {d:,.0f} tokens/s",
                      file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\n## Module models at their defaults (hidden 256), medians of {rounds} rounds\n")
    print("| model | threads | graphc tok/s | torch nn.* + Linear | graphc / torch | oneDNN | graphc / oneDNN |")
    print("|---|---|---|---|---|---|---|")
    for model, variant in pairs:
        for t in (1, 2):
            g, p, d = med[(model, t)], med[(variant, t)], med[("onednn " + model, t)]
            print(f"| {model} | {t} | {g:,.0f} | {p:,.0f} | {g / p:.2f}x | {d:,.0f} | {g / d:.2f}x |")


def under_load(rounds, epochs, cache):
    """--threads 2 against --threads 1 while a CPU-bound process runs beside graphc."""
    hog = subprocess.Popen(["/usr/bin/python3", "-c", "while True: pass"])
    try:
        samples = {1: [], 2: []}
        for _ in range(rounds):
            for t in (1, 2):
                samples[t].append(graphc_tps(t, epochs, cache, rows=False))
        one, two = statistics.median(samples[1]), statistics.median(samples[2])
    finally:
        hog.kill()
        hog.wait()
    print(f"- under load (one CPU-bound process beside graphc, medians of {rounds}): --threads 1 {one:,.0f} tok/s, "
          f"--threads 2 {two:,.0f} tok/s = {two / one:.2f}x of 1 thread (target >= 0.9x)")


def graphc_generate_tps(ckpt, cache, threads, length, prefix_file=None):
    cmd = [GRAPHC, "generate", "--load", ckpt, "--length", str(length), "--threads", str(threads), "--stats",
           "--cache-dir", cache]
    cmd += ["--prefix-file", prefix_file] if prefix_file else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(proc.stderr.split("tokens/s")[0].split(":")[-1])


def generation(rounds, cache):
    """Greedy generation of the seed model: graphc's compiled program, the exported C library, PyTorch's loops."""
    ckpt = os.path.join(cache, "bench.safetensors")
    run([GRAPHC, "train", "--epochs", "1", "--sample-every", "0", "--save", ckpt, "--cache-dir", cache])
    lib = os.path.join(cache, "export")
    run([GRAPHC, "export", "--load", ckpt, "-o", lib])
    harness = os.path.join(cache, "export_generate")
    subprocess.check_call(["cc", "-O2", "-I", lib, "-o", harness, os.path.join(ROOT, "bench", "export_generate.c"),
                           os.path.join(lib, "libmodel.a"), "-lm"])
    prefixes = os.path.join(cache, "prefixes.txt")
    with open(prefixes, "w") as f:
        f.writelines(f"time traveller {chr(97 + i % 26)}\n" for i in range(32))  # letters only: the d2l vocabulary
    torch_gen = lambda variant, batch, tokens: float(run(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_generate.py"),
                                                         variant, str(tokens), str(batch)], env=torch_env(1))[0])
    contenders = [
        ("graphc generate (JIT), 1 thread", 1, lambda: graphc_generate_tps(ckpt, cache, 1, 100000)),
        ("graphc generate (JIT), 2 threads", 1, lambda: graphc_generate_tps(ckpt, cache, 2, 100000)),
        ("exported library, 1 thread", 1, lambda: float(run([harness, "100000", "1"])[0])),
        ("exported library, 2 threads", 1, lambda: float(run([harness, "100000", "2"])[0])),
        ("PyTorch, d2l predict loop (eager)", 1, lambda: torch_gen("d2l", 1, 3000)),
        ("PyTorch, nn.RNN + Linear loop", 1, lambda: torch_gen("nnrnn", 1, 3000)),
        ("graphc generate (JIT), 1 thread", 32, lambda: graphc_generate_tps(ckpt, cache, 1, 10000, prefixes)),
        ("graphc generate (JIT), 2 threads", 32, lambda: graphc_generate_tps(ckpt, cache, 2, 10000, prefixes)),
        ("PyTorch, d2l predict loop (eager)", 32, lambda: torch_gen("d2l", 32, 1000)),
        ("PyTorch, nn.RNN + Linear loop", 32, lambda: torch_gen("nnrnn", 32, 1000)),
    ]
    graphc_generate_tps(ckpt, cache, 1, 10, prefixes)  # compile both programs once
    samples = {}
    for r in range(rounds):
        for name, batch, measure in contenders:
            tps = measure()
            samples.setdefault((name, batch), []).append(tps)
            print(f"  round {r + 1} batch {batch} {name}: {tps:,.0f} tokens/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}
    base = med[("PyTorch, d2l predict loop (eager)", 1)]
    print(f"\n## Greedy generation, seed model (H={H}), tokens/s, medians of {rounds} rounds\n")
    print("| contender | batch | tokens/s (all rows) | / d2l's PyTorch loop at batch 1 |")
    print("|---|---|---|---|")
    for name, batch, _ in contenders:
        print(f"| {name} | {batch} | {med[(name, batch)]:,.0f} | {med[(name, batch)] / base:.1f}x |")
    one = med[("graphc generate (JIT), 1 thread", 1)]
    two = med[("graphc generate (JIT), 2 threads", 1)]
    b32 = med[("graphc generate (JIT), 2 threads", 32)]
    print(f"\n- batch 32 (2 threads) / batch 1: {b32 / one:.1f}x of the 1-thread rate, {b32 / two:.1f}x of the 2-thread rate")


MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader"}
GRADIENT_FLOATS = V * H + H * H + H + H * V + V  # the seed model's parameters: one step's all_reduce


def distributed(rounds, epochs, cache):
    """The seed step on 1 process x 1 thread, 1 process x 2 threads (each product split, or rows over workers)
    and 2 MPI ranks x 1 thread."""
    mpirun, mpicc = shutil.which("mpirun"), shutil.which("mpicc")
    if not mpirun or not mpicc:
        print("- distributed: Open MPI is not installed (scripts/setup.sh installs it); skipped")
        return
    env = dict(os.environ, **MPI_ENV)
    train = [GRAPHC, "train", "--epochs", str(epochs), "--sample-every", "0", "--json", "--cache-dir", cache]
    contenders = {
        "1 process x 1 thread": train + ["--threads", "1"],
        "1 process x 2 threads splitting each product (--shards 1)": train + ["--threads", "2", "--shards", "1"],
        "1 process x 2 threads, rows over workers (--shards 2, the default)":
            train + ["--threads", "2", "--shards", "2"],
        "2 ranks x 1 thread (mpirun -np 2)": [mpirun, "-np", "2", "--bind-to", "core"] + train + ["--threads", "1"],
    }
    # The ceiling: what the two cores do when each trains its 16 rows alone, at once, with no communication.
    ceiling = "2 independent processes x 1 thread, 16 rows each (no communication)"
    samples = {c: [] for c in list(contenders) + [ceiling]}
    reduce_ms, reduce_share = [], []
    tmp = scratch_dir("graphc-bench-")
    metrics = [os.path.join(tmp, f"metrics{i}.csv") for i in (0, 1)]  # steady_tps: after the first epoch
    for r in range(rounds):
        half_batch = ["--threads", "1", "--batch-size", str(B // 2)]
        pair = [subprocess.Popen(["taskset", "-c", str(core)] + train + half_batch + ["--metrics", metrics[core]],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for core in (0, 1)]
        samples[ceiling].append(sum(steady_tps(json.loads(p.communicate()[0].strip().splitlines()[-1]),
                                               metrics[core], epochs) for core, p in enumerate(pair)))
        print(f"  round {r + 1} {ceiling}: {samples[ceiling][-1]:,.0f} tokens/s", file=sys.stderr)
        for c, cmd in contenders.items():
            out, _ = run(cmd + ["--metrics", metrics[0]], env=env)
            j = json.loads(out.strip().splitlines()[-1])
            samples[c].append(steady_tps(j, metrics[0], epochs))
            if j["ranks"] > 1:
                reduce_ms.append(j["allreduce_ms_per_step"])
                reduce_share.append(j["allreduce_ms_per_step"] * j["steps"] / 1e3 / j["seconds"])
            print(f"  round {r + 1} {c}: {samples[c][-1]:,.0f} tokens/s", file=sys.stderr)
    binary = os.path.join(ROOT, "build", "allreduce_bench")
    subprocess.check_call([mpicc, "-O2", "-o", binary, os.path.join(ROOT, "bench", "allreduce.c")])
    alone = statistics.median(float(run([mpirun, "-np", "2", binary, str(GRADIENT_FLOATS), "300"], env=env)[0])
                              for _ in range(rounds))
    med = {c: statistics.median(v) for c, v in samples.items()}
    base = med["1 process x 1 thread"]
    print(f"\n## Data-parallel training, seed step (global batch {B}), medians of {rounds} rounds\n")
    print("| contender | tokens/s after the first epoch | / 1 process x 1 thread |")
    print("|---|---|---|")
    for c in list(contenders) + [ceiling]:
        print(f"| {c} | {med[c]:,.0f} | {med[c] / base:.2f}x |")
    print()
    print(f"- 2 ranks reach {med['2 ranks x 1 thread (mpirun -np 2)'] / med[ceiling]:.2f} of the ceiling (two busy cores "
          f"each run slower than one alone: shared caches, memory and clock)")
    print(f"- all_reduce of the gradients ({GRADIENT_FLOATS * 4 / 1e6:.2f} MB) inside training: "
          f"{statistics.median(reduce_ms):.3f} ms per step ({100 * statistics.median(reduce_share):.1f}% of the step time; "
          f"includes waiting for the slower rank)")
    print(f"- MPI_Allreduce of the same {GRADIENT_FLOATS * 4 / 1e6:.2f} MB alone (bench/allreduce.c, 2 ranks, "
          f"shared memory): {alone:.3f} ms")


def fma_peaks(march="native"):
    """The FMA peak on 1 and 2 threads (bench/fma_peak.cpp) of the vectors -march gives, and the binary that
    measured it."""
    fma_bin = os.path.join(ROOT, "build", "fma_peak" if march == "native" else "fma_peak_" + march)
    subprocess.check_call(["g++", "-O2", "-march=" + march, "-pthread", "-o", fma_bin,
                           os.path.join(ROOT, "bench", "fma_peak.cpp")])
    # A peak is the best the cores can do: the best of 5 runs, since a neighbour's load only lowers it.
    return fma_bin, {t: max(float(run([fma_bin, str(t)])[0]) for _ in range(5)) for t in (1, 2)}


def products(fma_bin, peak, target_cpu="host"):
    """The product and output-layer tables (bench/gemm_bench.cpp) on 1 and 2 threads, of the kernels graphc makes
    for target_cpu."""
    # graphc's generated products against Eigen's (the fallback) on the step's shapes.
    gemm_bin = os.path.join(ROOT, "build", "gemm_bench")
    subprocess.check_call(["g++", "-O3", "-march=native", "-std=c++20", "-pthread", "-I", ROOT, "-I", "/usr/include/eigen3",
                           "-o", gemm_bin, os.path.join(ROOT, "bench", "gemm_bench.cpp"),
                           "-L", os.path.join(ROOT, "build"), "-lgraphc", "-Wl,-rpath," + os.path.join(ROOT, "build")])
    for t in (1, 2):
        # The peak again, just before the table: the shared host's speed moves between minutes, and a
        # table measured in a slow one reads low against the start's peak. The ratios keep the higher.
        now = max(float(run([fma_bin, str(t)])[0]) for _ in range(3))
        peak[t] = max(peak[t], now)
        code = "" if target_cpu == "host" else f", the code for {target_cpu}"
        print(f"\nMatrix products{code}, GFLOP/s, {t} thread{'s' if t > 1 else ''} (columns ROWSxWIDTH: graphc's generated "
              f"tile, packing B per call; prepacked is the pack-weights path; FMA peak {peak[t]:.0f} GFLOP/s, "
              f"{now:.0f} just before this table):\n")
        print("```")
        print(run([gemm_bin, str(t), "--peak", f"{peak[t]:.1f}", "--target-cpu", target_cpu])[0].rstrip())
        print("```")
    print()


def avx2_cpu():
    """The AVX2 CPU whose code an AVX-512 host runs: Zen 3 on AMD, else x86-64-v3 (Intel lacks Zen's sse4a)."""
    with open("/proc/cpuinfo") as f:
        return "znver3" if "AuthenticAMD" in f.read() else "x86-64-v3"


def avx2_code(rounds, epochs, cache):
    """On an AVX-512 host, the code graphc makes for AVX2 (--target-cpu), measured against the ymm FMA peak: the seed
    step and the product tables; and the module models against oneDNN held to AVX2. Not an AVX2 CPU's figures (its
    cores and caches differ), but the AVX2 kernels'."""
    if not has_avx512():
        return
    cpu = avx2_cpu()
    fma_bin, peak = fma_peaks("x86-64-v3")
    graphc_tps(1, 1, cache, target_cpu=cpu)  # fill the compile cache
    samples = {1: [], 2: []}
    for _ in range(rounds):
        for t in (1, 2):
            samples[t].append(graphc_tps(t, epochs, cache, target_cpu=cpu))
    med = {t: statistics.median(v) for t, v in samples.items()}
    print(f"\n## AVX2 code on this AVX-512 host (`--target-cpu {cpu}`: 6x16 ymm tiles), medians of {rounds} rounds\n")
    for t in (1, 2):
        achieved = med[t] * FLOPS_PER_TOKEN / 1e9
        print(f"- seed step, {t} thread{'s' if t > 1 else ''}: {med[t]:,.0f} tok/s = {achieved:.1f} GFLOP/s, "
              f"{achieved / peak[t]:.2f} of the ymm FMA peak ({peak[t]:.1f})" + (f"; {med[2] / med[1]:.2f}x one thread"
                                                                             if t == 2 else ""))
    avx2_modules(rounds, max(epochs, 30), 150, cache, cpu)
    products(fma_bin, peak, cpu)


def avx2_modules(rounds, epochs, steps, cache, cpu):
    """The module models' AVX2 code against oneDNN's RNN primitive held to AVX2 (ONEDNN_MAX_CPU_ISA), both on this
    AVX-512 host: the two sides' AVX2 kernels, side by side."""
    build_onednn()
    models = ("rnn", "gru", "lstm")
    for model in models:
        graphc_tps(1, 1, cache, model, target_cpu=cpu)  # compile once
    samples = {}
    for r in range(rounds):
        for t in (1, 2):
            for model in models:
                g = graphc_tps(t, epochs, cache, model, target_cpu=cpu)
                d = onednn_tps(model, t, steps, 256, max_isa="AVX2")
                samples.setdefault((model, t), []).append(g)
                samples.setdefault(("onednn " + model, t), []).append(d)
                print(f"  round {r + 1} threads {t} {model} (AVX2): graphc {g:,.0f}, oneDNN {d:,.0f} tokens/s",
                      file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(f"\nModule models at their defaults (hidden 256), graphc's code for {cpu} against oneDNN held to AVX2 "
          f"(`ONEDNN_MAX_CPU_ISA=AVX2`), medians of {rounds} rounds:\n")
    print("| model | threads | graphc tok/s | oneDNN tok/s | graphc / oneDNN |")
    print("|---|---|---|---|---|")
    for model in models:
        for t in (1, 2):
            g, d = med[(model, t)], med[("onednn " + model, t)]
            print(f"| {model} | {t} | {g:,.0f} | {d:,.0f} | {g / d:.2f}x |")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=6,
                    help="graphc epochs per sample (8 steps each; the first is warm-up, not timed)")
    ap.add_argument("--torch-steps", type=int, default=40)
    ap.add_argument("--full", action="store_true", help="also time the whole 500-epoch seed run in both")
    ap.add_argument("--only", choices=["generation", "distributed", "modules", "products", "avx2"],
                    help="run one section only")
    args = ap.parse_args()
    cache = scratch_dir("graphc-bench-cache-")
    if args.only == "generation":
        generation(args.rounds, cache)
        return
    if args.only == "distributed":
        distributed(args.rounds, max(args.epochs, 60), cache)
        return
    if args.only == "products":
        products(*fma_peaks())
        return
    if args.only == "avx2":
        avx2_code(args.rounds, args.epochs, cache)
        return
    if args.only == "modules":  # longer samples than the full run's, for ratios within a few percent
        build_onednn()
        module_models(args.rounds, max(args.epochs, 30), max(args.torch_steps, 150), cache)
        return

    fma_bin, peak = fma_peaks()

    build_onednn()
    contenders = ["graphc", "torch eager (d2l scratch)", "torch nn.RNN + Linear", "torch TorchScript", "oneDNN RNN primitive"]
    variants = {"torch eager (d2l scratch)": "scratch", "torch nn.RNN + Linear": "nnrnn", "torch TorchScript": "script"}
    samples = {(c, t): [] for c in contenders for t in (1, 2)}
    graphc_tps(1, 1, cache)  # fill the compile cache
    for r in range(args.rounds):
        for t in (1, 2):
            for c in contenders:
                if c == "graphc":
                    tps = graphc_tps(t, args.epochs, cache)
                elif c.startswith("oneDNN"):
                    tps = onednn_tps("rnn", t, args.torch_steps)
                else:
                    tps = torch_tps(variants[c], t, args.torch_steps)
                samples[(c, t)].append(tps)
                print(f"  round {r + 1} threads {t} {c}: {tps:,.0f} tokens/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in samples.items()}

    print(f"## graphc vs PyTorch, seed training step (B={B}, T={T}, H={H}, V={V}), medians of {args.rounds} rounds\n")
    print("| contender | 1 thread tok/s | 2 threads tok/s | graphc / it (1t) | graphc / it (2t) |")
    print("|---|---|---|---|---|")
    for c in contenders:
        r1 = med[("graphc", 1)] / med[(c, 1)]
        r2 = med[("graphc", 2)] / med[(c, 2)]
        print(f"| {c} | {med[(c, 1)]:,.0f} | {med[(c, 2)]:,.0f} | {r1:.2f}x | {r2:.2f}x |")
    print()
    print("- tokens/s after warm-up: graphc's first epoch (8 steps), PyTorch's and oneDNN's first 3 steps")
    print(f"- FLOPs per token (products only, 6H^2 + 6HV): {FLOPS_PER_TOKEN / 1e6:.2f} MFLOP")
    for t in (1, 2):
        achieved = med[("graphc", t)] * FLOPS_PER_TOKEN / 1e9
        print(f"- {t} thread{'s' if t > 1 else ''}: FMA peak {peak[t]:.1f} GFLOP/s (limit {peak[t] * 1e9 / FLOPS_PER_TOKEN:,.0f} "
              f"tok/s); graphc reaches {achieved:.1f} GFLOP/s = {achieved / peak[t]:.2f} of peak")

    # Compile time, cold and from the cache.
    fresh = scratch_dir("graphc-bench-cold-")
    times = []
    for _ in range(2):
        _, s = run([GRAPHC, "compile", "--stats", "--cache-dir", fresh, "-o", os.path.join(cache, "step.gir")])
        err = subprocess.run([GRAPHC, "compile", "--stats", "--cache-dir", fresh, "-o", os.path.join(cache, "step.gir")],
                             capture_output=True, text=True).stderr if not times else None
        times.append(s)
    print(f"- `graphc compile` of the seed step, whole command: {times[0]:.2f} s cold, {times[1]:.2f} s from the cache")
    stats = subprocess.run([GRAPHC, "compile", "--stats", "--cache-dir", scratch_dir("graphc-bench-cold-"), "-o", os.path.join(cache, "step.gir")],
                           capture_output=True, text=True).stderr
    line = [l.strip() for l in stats.splitlines() if l.strip().startswith("compile seconds")]
    if line:
        print(f"- cold compile stages: {line[0][len('compile seconds'):].strip()}")

    # Longer samples: the load monitors back off for up to 8 s (runtime/ShardWorld.h), and a 6-epoch sample
    # (0.3 s) measured their first probes (the default on 2 threads 0.81x of 1 thread; 0.85-0.91x over 60 epochs).
    under_load(args.rounds, max(args.epochs, 60), cache)

    products(fma_bin, peak)
    avx2_code(args.rounds, args.epochs, cache)

    module_models(args.rounds, max(2, args.epochs // 2), args.torch_steps // 2, cache)
    print()

    rss = rss_mib([GRAPHC, "train", "--epochs", "2", "--sample-every", "0", "--cache-dir", cache])
    rss_torch = rss_mib(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_rnn.py"), "scratch", "1", "16"],
                        env=torch_env(1))
    print(f"- peak RSS: graphc train {rss:.0f} MiB, PyTorch eager {rss_torch:.0f} MiB")

    generation(args.rounds, cache)
    distributed(args.rounds, max(args.epochs, 60), cache)

    if args.full:
        _, g = run([GRAPHC, "train", "--sample-every", "0", "--cache-dir", cache])
        _, p = run(["/usr/bin/python3", os.path.join(ROOT, "bench", "torch_rnn.py"), "scratch", "2", "4000"],
                   env=torch_env(2))
        print(f"- full 500-epoch seed run (4000 steps): graphc {g:.0f} s, PyTorch eager {p:.0f} s")


if __name__ == "__main__":
    main()
