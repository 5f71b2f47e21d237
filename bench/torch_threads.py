"""bench/torch_threads.py — how the PyTorch contenders (bench/torch_*.py) run: on as many cores as they are
given, with the BLAS kernels this CPU runs best. Call pin_blas() before `import torch`.

Debian's PyTorch multiplies through OpenBLAS (its pthreads build), which reads its thread count and its kernels
from the environment once, when it loads; torch.set_num_threads does not reach it. Unpinned, a "1 thread"
PyTorch kept both cores of a 2-vCPU host busy (1.7 cores: user + system time over wall time, the Brown LSTM
on Zen 5, 1,797 tokens/s). The kernels: these hosts' image sets OPENBLAS_CORETYPE=Haswell (AVX2) on AVX-512
CPUs (1,212 tokens/s on one core, 1,778 with SkylakeX's), and without it Debian's OpenBLAS 0.3.21, which
predates Zen 4 and 5, may fall back to SSE3 kernels."""
import os


def pin_blas(threads=None):
    """OpenBLAS on `threads` threads (None: its default, every core) with the kernels of the widest vectors the
    CPU has, whatever OPENBLAS_CORETYPE the environment holds (these hosts' image sets Haswell's, AVX2, on
    AVX-512 CPUs). GRAPHC_BENCH_TORCH_ISA=avx2 holds PyTorch to AVX2 instead, OpenBLAS and its own kernels
    (ATEN_CPU_CAPABILITY) alike: the contender of graphc's AVX2 code (`--target-cpu znver3`) on an AVX-512 host."""
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        os.environ["OPENBLAS_NUM_THREADS"] = str(threads)
    if os.environ.get("GRAPHC_BENCH_TORCH_ISA") == "avx2":
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
        return
    with open("/proc/cpuinfo") as f:
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX" if "avx512f" in f.read() else "Haswell"
