#!/usr/bin/env python3
"""bench/torch_gpt.py — nanoGPT's model in plain PyTorch, beside graphc's `gpt`.

  torch_gpt.py check CKPT TEXT     perplexity of a graphc checkpoint on TEXT, computed by PyTorch
                                   with the checkpoint's weights, as `graphc eval --batch-size 1`
                                   counts it (windows of the training's --num-steps, every token but the first)
  torch_gpt.py train CONFIG THREADS STEPS WARM   tokens/s of PyTorch's training step (AdamW, clipping)
                                   on random windows over STEPS steps after WARM untimed ones; CONFIG is
                                   cpu (4 x 128, context 64, batch 12) or gpu (6 x 384, context 256,
                                   batch 64: the shapes only)
  torch_gpt.py reproduce DIR ITERS  nanoGPT's CPU recipe on DIR/train.txt (random windows, AdamW 1e-3,
                                   betas 0.9/0.99, decay 0.1 on matrices, 100 warm-up steps, cosine to
                                   1e-4, clipping 1), then the loss on all of DIR/val.txt in windows of 64
  torch_gpt.py generate CONFIG TOKENS  tokens/s of nanoGPT's generate loop (the whole cropped
                                   context re-run per token), batch 1

Run with Debian's python3 (python3-torch). The model is nanoGPT's: pre-norm blocks, GELU, LayerNorm
with bias, tied output, N(0, 0.02) init with residual projections scaled by 1/sqrt(2 layers), and
attention through F.scaled_dot_product_attention where torch has it (nanoGPT's "flash" path), else
nanoGPT's explicit masked softmax.
"""
import json
import math
import struct
import sys
import time

from torch_threads import pin_blas

# train CONFIG THREADS STEPS WARM, generate on one thread; check and reproduce on every core
pin_blas(int(sys.argv[3]) if sys.argv[1:2] == ["train"] else 1 if sys.argv[1:2] == ["generate"] else None)
import torch  # after pin_blas: OpenBLAS reads its environment as it loads
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {"cpu": dict(layers=4, heads=4, width=128, context=64, batch=12),
           "gpu": dict(layers=6, heads=6, width=384, context=256, batch=64)}


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.c_attn, self.attn_proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.c_fc, self.mlp_proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch < 2.0 (Debian 12's 1.13): nanoGPT's own fallback
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
            y = F.softmax(att, dim=-1) @ v
        return self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, layers, heads, width, context):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, width), nn.Embedding(context, width)
        self.h = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.T


def read_checkpoint(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__")
    tensors = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
    return meta, tensors


def from_checkpoint(path):
    meta, t = read_checkpoint(path)
    settings = json.loads(meta["settings"])
    vocab = json.loads(meta["vocab"])
    layers, width = int(meta["num_layers"]), int(meta["hidden"])
    model = Gpt(len(vocab), layers, int(settings["heads"]), width, int(settings["context"]))
    graphc_names = {"ln_1.weight": "ln_1.scale", "ln_2.weight": "ln_2.scale", "c_attn": "attn.c_attn",
                    "attn_proj": "attn.c_proj", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
    with torch.no_grad():
        model.wte.weight.copy_(t["wte"])
        model.wpe.weight.copy_(t["wpe"])
        model.ln_f.weight.copy_(t["ln_f.scale"])
        model.ln_f.bias.copy_(t["ln_f.bias"])
        for i, block in enumerate(model.h):
            for mine, theirs in graphc_names.items():
                if mine.startswith("ln"):
                    ln = getattr(block, mine.split(".")[0])
                    ln.weight.copy_(t[f"h{i}.{theirs}"])
                    ln.bias.copy_(t[f"h{i}.{theirs[:-len('scale')]}bias"])
                else:
                    linear = getattr(block, mine)
                    linear.weight.copy_(t[f"h{i}.{theirs}.kernel"].T)  # graphc keeps [in, out]
                    linear.bias.copy_(t[f"h{i}.{theirs}.bias"])
    return model, vocab, int(meta["num_steps"])


def check(path, text_path):
    model, vocab, window = from_checkpoint(path)  # graphc eval's default window: the training's --num-steps
    index = {c: i for i, c in enumerate(vocab)}
    with open(text_path, encoding="utf-8") as f:
        ids = torch.tensor([index.get(c, 0) for c in f.read()])
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids) - 1, window):
            x = ids[start:start + window]
            y = ids[start + 1:start + 1 + window]
            x = x[:len(y)]
            total += F.cross_entropy(model(x[None]).reshape(-1, len(vocab)), y, reduction="sum").item()
            count += len(y)
    print(json.dumps({"perplexity": math.exp(total / count), "loss": total / count, "tokens": count}))


def train(config, threads, steps, warm):
    torch.set_num_threads(threads)
    c = CONFIGS[config]
    torch.manual_seed(0)
    model = Gpt(66, c["layers"], c["heads"], c["width"], c["context"])
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    data = torch.randint(0, 66, (200_000,))

    def step():
        at = torch.randint(0, len(data) - c["context"] - 1, (c["batch"],))
        x = torch.stack([data[i:i + c["context"]] for i in at])
        y = torch.stack([data[i + 1:i + 1 + c["context"]] for i in at])
        loss = F.cross_entropy(model(x).reshape(-1, 66), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(warm):  # not timed (bench/gpt.py's warm_up_steps)
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    print(json.dumps({"config": config, "threads": threads, "tokens_per_sec": steps * c["batch"] * c["context"] / seconds}))


def reproduce(directory, iters, seed=0):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    c = CONFIGS["cpu"]
    with open(f"{directory}/train.txt", encoding="utf-8") as f:
        train_text = f.read()
    with open(f"{directory}/val.txt", encoding="utf-8") as f:
        val_text = f.read()
    chars = sorted(set(train_text + val_text))
    index = {ch: i for i, ch in enumerate(chars)}
    train_ids = torch.tensor([index[ch] for ch in train_text])
    val_ids = torch.tensor([index[ch] for ch in val_text])
    model = Gpt(len(chars), c["layers"], c["heads"], c["width"], c["context"])
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.99))
    for it in range(iters):
        if it < 100:
            lr = 1e-3 * (it + 1) / 101
        else:
            ratio = (it - 100) / max(1, iters - 100)
            lr = 1e-4 + 0.5 * (1 + math.cos(math.pi * ratio)) * (1e-3 - 1e-4)
        for group in opt.param_groups:
            group["lr"] = lr
        at = torch.randint(0, len(train_ids) - c["context"] - 1, (c["batch"],))
        x = torch.stack([train_ids[i:i + c["context"]] for i in at])
        y = torch.stack([train_ids[i + 1:i + 1 + c["context"]] for i in at])
        loss = F.cross_entropy(model(x).reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if it % 250 == 0:
            print(f"iter {it} loss {loss.item():.4f}", file=sys.stderr, flush=True)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(val_ids) - 1, c["context"]):
            x = val_ids[start:start + c["context"]]
            y = val_ids[start + 1:start + 1 + c["context"]]
            x = x[:len(y)]
            total += F.cross_entropy(model(x[None]).reshape(-1, len(chars)), y, reduction="sum").item()
            count += len(y)
    print(json.dumps({"iters": iters, "seed": seed, "val_loss": total / count, "val_perplexity": math.exp(total / count)}))


def generate(config, tokens):
    torch.set_num_threads(1)
    c = CONFIGS[config]
    model = Gpt(66, c["layers"], c["heads"], c["width"], c["context"]).eval()
    idx = torch.zeros((1, 1), dtype=torch.long)
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(tokens):  # nanoGPT's generate: crop to the context, re-run it all, take the last logits
            logits = model(idx[:, -c["context"]:])[:, -1, :]
            idx = torch.cat((idx, logits.argmax(-1, keepdim=True)), dim=1)
        seconds = time.perf_counter() - start
    print(json.dumps({"config": config, "tokens_per_sec": tokens / seconds}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "reproduce":
        reproduce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 0)
    elif len(sys.argv) == 4 and sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
