#!/usr/bin/env python3
"""bench/gpt.py — graphc's `gpt` against the same model in PyTorch (bench/torch_gpt.py), side by side.

Training tokens/s at 1 and 2 threads for nanoGPT's CPU configuration (4 x 128, context 64, batch 12)
and its GPU configuration's shapes (6 x 384, context 256, batch 64), with peak RSS; then batch-1
generation: graphc's step with its KV cache against nanoGPT's loop that re-runs the cropped context
per token. Prints a markdown table. Needs data/shakespeare (scripts/shakespeare.sh) and Debian's
python3-torch; run it on a quiet machine: the two sides take turns, medians of --rounds.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHC = os.path.join(ROOT, "build", "graphc")
TORCH_PY = "/usr/bin/python3"
CONFIGS = {"cpu": dict(layers=4, heads=4, width=128, context=64, batch=12),
           "gpu": dict(layers=6, heads=6, width=384, context=256, batch=64)}


def run_measured(cmd):
    """Runs cmd; returns (stdout, the peak RSS of that process in MiB)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return out, usage.ru_maxrss / 1024.0


def last_json(text):
    return json.loads([l for l in text.splitlines() if l.startswith("{")][-1])


def warm_up_steps(config):
    """Steps both sides run before their timing starts: the first touches every page of the step's memory (graphc's
    arena at the gpu configuration is 3.2 GB, its first step 4 s of page clearing) and PyTorch's first allocates."""
    return 1 if config == "gpu" else 3


def graphc_train(config, threads, steps, cache):
    """graphc's tokens/s over `steps` steps after warm_up_steps, as torch_gpt.py times its own: one step per epoch,
    the first epochs' seconds (the metrics CSV's are cumulative) left out."""
    c = CONFIGS[config]
    warm = warm_up_steps(config)
    tokens = (warm + steps) * c["batch"] * c["context"] + 1
    with tempfile.TemporaryDirectory(prefix="graphc-gpt-bench-") as tmp:
        metrics = os.path.join(tmp, "metrics.csv")
        cmd = [GRAPHC, "train", "--model", "gpt", "--data", os.path.join(ROOT, "data/shakespeare/train.txt"),
               "--text", "chars", "--max-tokens", str(tokens), "--iter", "windows", "--batch-size", str(c["batch"]),
               "--num-steps", str(c["context"]), "--hidden", str(c["width"]), "--num-layers", str(c["layers"]),
               "--set", f"heads={c['heads']},context={c['context']}", "--optimizer", "adamw", "--lr", "1e-3",
               "--beta2", "0.99", "--weight-decay", "0.1", "--clip", "1", "--epochs", str(warm + steps),
               "--epoch-steps", "1", "--sample-every", "0", "--threads", str(threads), "--cache-dir", cache,
               "--metrics", metrics, "--json"]
        _, rss = run_measured(cmd)
        with open(metrics) as f:
            seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    return steps * c["batch"] * c["context"] / (seconds[-1] - seconds[warm - 1]), rss


def torch_train(config, threads, steps):
    out, rss = run_measured([TORCH_PY, os.path.join(ROOT, "bench", "torch_gpt.py"), "train", config, str(threads),
                             str(steps), str(warm_up_steps(config))])
    return last_json(out)["tokens_per_sec"], rss


def graphc_generate(checkpoint, tokens, cache):
    out = subprocess.run([GRAPHC, "generate", "--load", checkpoint, "--prefix", "\n", "--length", str(tokens),
                          "--threads", "1", "--stats", "--cache-dir", cache], check=True, capture_output=True,
                         text=True).stderr
    line = [l for l in out.splitlines() if l.startswith("generated")][0]
    return float(line.split(":")[-1].split("tokens/s")[0].replace(",", ""))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=40, help="training steps per measurement (cpu configuration)")
    p.add_argument("--gpu-steps", type=int, default=2, help="training steps per measurement (gpu configuration)")
    p.add_argument("--gpu-rounds", type=int, default=1, help="rounds of the gpu configuration (a PyTorch step takes a minute)")
    p.add_argument("--checkpoint", default=os.path.join(ROOT, "runs/gpt/cpu-2epochs.safetensors"),
                   help="a trained gpt for the generation row")
    args = p.parse_args()
    cache = os.path.join(ROOT, "build", "bench-cache")
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = [l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")]
    print(f"CPU: {model[0] if model else 'unknown'}; medians of {args.rounds} rounds\n")
    print("| configuration | threads | graphc tokens/s | PyTorch tokens/s | graphc / PyTorch | graphc RSS MiB | PyTorch RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for config, steps, rounds in (("cpu", args.steps, args.rounds), ("gpu", args.gpu_steps, args.gpu_rounds)):
        for threads in (1, 2):
            g, t, grss, trss = [], [], 0.0, 0.0
            for _ in range(rounds):
                speed, rss = graphc_train(config, threads, steps, cache)
                g.append(speed)
                grss = max(grss, rss)
                speed, rss = torch_train(config, threads, steps)
                t.append(speed)
                trss = max(trss, rss)
            gm, tm = statistics.median(g), statistics.median(t)
            print(f"| {config} | {threads} | {gm:,.0f} | {tm:,.0f} | {gm / tm:.2f}x | {grss:,.0f} | {trss:,.0f} |",
                  flush=True)
    if os.path.exists(args.checkpoint):
        g = statistics.median(graphc_generate(args.checkpoint, 500, cache) for _ in range(args.rounds))
        out = subprocess.run([TORCH_PY, os.path.join(ROOT, "bench", "torch_gpt.py"), "generate", "cpu", "200"],
                             check=True, capture_output=True, text=True).stdout
        t = last_json(out)["tokens_per_sec"]
        print(f"\nGeneration, batch 1, 1 thread (cpu configuration): graphc with its KV cache {g:,.0f} tokens/s, "
              f"PyTorch re-running the context {t:,.0f} tokens/s: {g / t:.1f}x")
    else:
        print(f"\n(no {args.checkpoint}: generation not measured)", file=sys.stderr)


if __name__ == "__main__":
    main()
