"""bench/torch_word_lstm.py — the word-level LSTM of docs/brown.md in PyTorch
(nn.Embedding + nn.LSTM + Linear tied to the embedding, dropout on the
embeddings and before the output, cross-entropy, Adam, clipping to norm 1),
for side-by-side runs with `graphc train --model lstm-lm`.

  speed THREADS STEPS [HIDDEN] [VOCAB]   tokens/s of the training step on random
                                         tokens (after 2 warm-up steps) and peak RSS
  train DIR EPOCHS [HIDDEN]              trains on DIR/{train,valid,test}.txt with
                                         vocab.txt as graphc does (batch 32, 35
                                         steps, state carried, lr 2e-3 quartered
                                         when validation stalls, early stop 3) and
                                         prints validation and test perplexity over
                                         every token
"""
import math
import resource
import sys
import time

from torch_threads import pin_blas

pin_blas(int(sys.argv[2]) if sys.argv[1:2] == ["speed"] else None)  # speed THREADS ..., or train on every core
import torch  # after pin_blas: OpenBLAS reads its environment as it loads
import torch.nn as nn
import torch.nn.functional as F

B, T, DROPOUT = 32, 35, 0.3


class WordLstm(nn.Module):
    def __init__(self, vocab, hidden, layers=1):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.lstm = nn.LSTM(hidden, hidden, layers)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, x, state):  # x: [T, B]
        h, state = self.lstm(self.drop(self.embed(x)), state)
        return F.linear(self.drop(h).reshape(-1, h.shape[-1]), self.embed.weight, self.bias), state


def step(model, opt, x, y, state):
    model.train()
    logits, state = model(x, state)
    loss = F.cross_entropy(logits, y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item(), tuple(s.detach() for s in state)


def speed(threads, steps, hidden=256, vocab=17907):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = WordLstm(vocab, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x = torch.randint(0, vocab, (T, B))
    y = torch.randint(0, vocab, (T, B))
    state = None
    for _ in range(2):
        _, state = step(model, opt, x, y, state)
    start = time.perf_counter()
    for _ in range(steps):
        _, state = step(model, opt, x, y, state)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch word lstm H={hidden} V={vocab} threads={threads}: {steps * B * T / seconds:.0f} tokens/s, "
          f"peak RSS {rss:.0f} MiB")


def read(path, ids):
    return torch.tensor([ids.get(w, 0) for w in open(path, encoding="utf-8").read().split()], dtype=torch.long)


def evaluate(model, tokens, streams=B):
    model.eval()
    n = (len(tokens) - 1) // streams
    x_all = tokens[:n * streams].reshape(streams, n).T
    y_all = tokens[1:n * streams + 1].reshape(streams, n).T
    nll, state = 0.0, None
    with torch.no_grad():
        for t in range(0, n, T):
            logits, state = model(x_all[t:t + T], state)
            nll += F.cross_entropy(logits, y_all[t:t + T].reshape(-1), reduction="sum").item()
        # The tail (fewer tokens than streams) continues the last stream, as graphc's evaluator.
        tail = len(tokens) - 1 - n * streams
        if tail > 0:
            last = tuple(s[:, -1:].contiguous() for s in state)
            logits, _ = model(tokens[n * streams:n * streams + tail].reshape(-1, 1), last)
            nll += F.cross_entropy(logits, tokens[n * streams + 1:].reshape(-1), reduction="sum").item()
    return math.exp(nll / (len(tokens) - 1))


def train(directory, epochs, hidden=256):
    torch.manual_seed(0)
    words = open(f"{directory}/vocab.txt", encoding="utf-8").read().split()
    ids = {w: i for i, w in enumerate(words)}
    train_ids = read(f"{directory}/train.txt", ids)
    valid, test = read(f"{directory}/valid.txt", ids), read(f"{directory}/test.txt", ids)
    model = WordLstm(len(words), hidden)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = (len(train_ids) - 1) // B
    xs = train_ids[:n * B].reshape(B, n).T
    ys = train_ids[1:n * B + 1].reshape(B, n).T
    best, best_state, since = float("inf"), None, 0
    for epoch in range(1, epochs + 1):
        state, start = None, time.perf_counter()
        for t in range(0, n - T + 1, T):
            _, state = step(model, opt, xs[t:t + T], ys[t:t + T], state)
        val = evaluate(model, valid)
        print(f"epoch {epoch}: validation perplexity {val:.2f} ({(n // T) * T * B / (time.perf_counter() - start):.0f} tokens/s)",
              flush=True)
        if val < best:
            best, since = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            for g in opt.param_groups:
                g["lr"] *= 0.25
            if since >= 3:
                break
    model.load_state_dict(best_state)
    print(f"test perplexity {evaluate(model, test):.2f} (best validation {best:.2f})")


if __name__ == "__main__":
    if sys.argv[1] == "speed":
        speed(int(sys.argv[2]), int(sys.argv[3]), *map(int, sys.argv[4:6]))
    else:
        train(sys.argv[2], int(sys.argv[3]), *map(int, sys.argv[4:5]))
