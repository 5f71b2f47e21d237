"""bench/torch_rnn.py VARIANT THREADS STEPS [HIDDEN] — the seed training step in PyTorch.

VARIANT: scratch (d2l's RNN from scratch, eager), nnrnn (nn.RNN + nn.Linear),
script (the scratch model's forward as TorchScript), nngru and nnlstm
(nn.GRU / nn.LSTM + nn.Linear: PyTorch's fused cells). HIDDEN defaults to 512.
One step: forward over 35 steps, cross-entropy, backward, clipping to global
norm 1, SGD lr 1; the state is carried across steps without gradient, as in
sequential iteration.
Prints tokens per second over STEPS steps, after 3 warm-up steps.
"""
import math
import sys
import time

from torch_threads import pin_blas

pin_blas(int(sys.argv[2]))  # variant, threads, steps
import torch  # after pin_blas: OpenBLAS reads its environment as it loads
import torch.nn.functional as F

B, T, V = 32, 35, 28
H = int(sys.argv[4]) if len(sys.argv) > 4 else 512


def scratch_params():
    def normal(*shape):
        return (torch.randn(*shape) * 0.01).requires_grad_()

    return [normal(V, H), normal(H, H), torch.zeros(H, requires_grad=True), normal(H, V),
            torch.zeros(V, requires_grad=True)]


def rnn_scratch(inputs, state: torch.Tensor, W_xh, W_hh, b_h, W_hq, b_q):
    outputs = []
    H_ = state
    for X in inputs:
        H_ = torch.tanh(torch.mm(X, W_xh) + torch.mm(H_, W_hh) + b_h)
        outputs.append(torch.mm(H_, W_hq) + b_q)
    return torch.cat(outputs, dim=0), H_


def clip(params, theta=1.0):
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm


def main():
    variant, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X = torch.randint(0, V, (B, T))
    Y = torch.randint(0, V, (B, T))
    labels = Y.T.reshape(-1)
    if variant in ("scratch", "script"):
        params = scratch_params()
        forward = torch.jit.script(rnn_scratch) if variant == "script" else rnn_scratch
    elif variant in ("nnrnn", "nngru"):
        rnn = torch.nn.RNN(V, H) if variant == "nnrnn" else torch.nn.GRU(V, H)
        dense = torch.nn.Linear(H, V)
        params = list(rnn.parameters()) + list(dense.parameters())

        def forward(inputs, state, *unused):
            y, h = rnn(inputs, state.unsqueeze(0))
            return dense(y.reshape(-1, H)), h.squeeze(0)
    elif variant == "nnlstm":
        rnn, dense = torch.nn.LSTM(V, H), torch.nn.Linear(H, V)
        params = list(rnn.parameters()) + list(dense.parameters())

        def forward(inputs, state, *unused):
            h, c = state
            y, (h, c) = rnn(inputs, (h.unsqueeze(0), c.unsqueeze(0)))
            return dense(y.reshape(-1, H)), (h.squeeze(0), c.squeeze(0))
    else:
        raise SystemExit(f"unknown variant {variant}")

    state = (torch.zeros(B, H), torch.zeros(B, H)) if variant == "nnlstm" else torch.zeros(B, H)

    def step(state):
        inputs = F.one_hot(X.T, V).float()
        y_hat, state = forward(inputs, state, *params)
        loss = F.cross_entropy(y_hat, labels)
        for p in params:
            p.grad = None
        loss.backward()
        clip(params)
        with torch.no_grad():
            for p in params:
                p -= 1.0 * p.grad
        detached = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return detached, float(loss)

    for _ in range(3):
        state, _ = step(state)
    start = time.perf_counter()
    for _ in range(steps):
        state, loss = step(state)
    seconds = time.perf_counter() - start
    assert math.isfinite(loss)
    print(f"{steps * B * T / seconds:.1f}")


if __name__ == "__main__":
    main()
