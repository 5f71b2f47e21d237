"""bench/torch_generate.py VARIANT TOKENS [BATCH [HIDDEN [LAYERS]]] — greedy generation in PyTorch, tokens/s.

VARIANT: d2l (d2l's predict_ch8 on the RNN from scratch: one-hot, three
products, tanh, argmax per character, eager), nnrnn (nn.RNN + nn.Linear
stepped one character at a time), or rnn, gru, lstm (one-hot + nn.RNN / nn.GRU /
nn.LSTM of LAYERS layers + nn.Linear, as graphc's modules, stepped one character at a
time). Hidden 512 unless given, vocab 28, default initialisation (N(0, 0.01)
for d2l); one thread; under torch.no_grad(). Prints tokens per second over
TOKENS generated tokens per row (after a 10-character prefix), BATCH rows at once.
"""
import sys
import time

from torch_threads import pin_blas

pin_blas(1)
import torch  # after pin_blas: OpenBLAS reads its environment as it loads
import torch.nn.functional as F

V = 28


def main():
    global H
    variant, tokens = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    H = int(sys.argv[4]) if len(sys.argv) > 4 else 512
    layers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    torch.set_num_threads(1)
    torch.manual_seed(0)
    prefix = torch.randint(0, V, (10,)).tolist()
    if variant == "d2l":
        W_xh, W_hh, W_hq = (torch.randn(V, H) * 0.01, torch.randn(H, H) * 0.01, torch.randn(H, V) * 0.01)
        b_h, b_q = torch.zeros(H), torch.zeros(V)

        def step(token, state):
            X = F.one_hot(token, V).float()
            state = torch.tanh(torch.mm(X, W_xh) + torch.mm(state, W_hh) + b_h)
            return torch.mm(state, W_hq) + b_q, state
    elif variant == "nnrnn":
        rnn, dense = torch.nn.RNN(V, H), torch.nn.Linear(H, V)

        def step(token, state):
            y, h = rnn(F.one_hot(token, V).float().unsqueeze(0), state.unsqueeze(0))
            return dense(y.squeeze(0)), h.squeeze(0)
    elif variant in ("rnn", "gru", "lstm"):
        cell = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[variant](V, H, layers)
        dense = torch.nn.Linear(H, V)

        def step(token, state):
            y, state = cell(F.one_hot(token, V).float().unsqueeze(0), state)
            return dense(y.squeeze(0)), state
    else:
        raise SystemExit(f"unknown variant {variant}")

    with torch.no_grad():
        state = torch.zeros(batch, H)
        if variant == "lstm":
            state = (torch.zeros(layers, batch, H), torch.zeros(layers, batch, H))
        elif variant in ("rnn", "gru"):
            state = torch.zeros(layers, batch, H)
        for t in prefix[:-1]:  # warm-up, as predict_ch8
            _, state = step(torch.full((batch,), t), state)
        token = torch.full((batch,), prefix[-1])
        outputs = []
        start = time.perf_counter()
        for _ in range(tokens):
            logits, state = step(token, state)
            token = logits.argmax(dim=1)
            outputs.append(token)
        seconds = time.perf_counter() - start
    print(f"{tokens * batch / seconds:.1f}")


if __name__ == "__main__":
    main()
