"""Chapter 11's timings: the loop against the parallel scans, and a token's latency.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/scan.py [--quick]

Prints, on this machine (the figures are for this CPU only; the book prints none of them):

1. **Scan.** Wall-clock milliseconds of ``h_t = a_t ⊙ h_{t-1} + b_t`` over ``T`` steps,
   batch ``N`` and ``H`` features (``N = 8, H = 64``, then ``N = H = 1``, where the loop's
   per-step overhead dominates), by :func:`~rnncourse.numpy.scan.scan_sequential`
   (the loop, ``T - 1`` rounds), :func:`~rnncourse.numpy.scan.scan_hillis_steele`
   (``ceil(log2 T)`` rounds, more work) and :func:`~rnncourse.numpy.scan.scan_blelloch`
   (``2 ceil(log2 T)`` rounds, about twice the loop's work). On a CPU each NumPy round is
   one vectorised pass over the positions: the scans save the Python loop's per-step
   overhead, but a CPU has few lanes, so this is not the thousands-fold parallelism of a
   GPU.
2. **Latency per generated token**, single layer of width ``d``, float32: one minGRU step
   (constant work and a constant state) against one step of single-head attention with a
   key-value cache of ``context`` tokens (projections, scores over the cache, softmax,
   weighted sum, output projection), beside the bytes each keeps
   (:mod:`rnncourse.analysis.memory`).

Each figure is the median of several repeats, after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from rnncourse.analysis.memory import kv_cache_bytes, recurrent_state_bytes
from rnncourse.numpy.scan import scan_blelloch, scan_hillis_steele, scan_sequential


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()                                        # warm-up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def bench_scans(lengths: list[int], N: int, H: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    print(f"1. h_t = a_t * h_(t-1) + b_t, N = {N}, H = {H}, float64; median of {repeats} "
          f"runs, milliseconds")
    print(f"{'T':>7s} {'loop':>10s} {'Hillis-Steele':>14s} {'Blelloch':>10s}   "
          f"{'rounds (loop / HS / B)':>24s}")
    for T in lengths:
        a = rng.uniform(0.5, 1.0, (N, T, H))
        b = rng.standard_normal((N, T, H))
        row, rounds = [], []
        for scan in (scan_sequential, scan_hillis_steele, scan_blelloch):
            row.append(1e3 * median_seconds(lambda s=scan, a=a, b=b: s(a, b), repeats))
            rounds.append(scan(a, b)[1].rounds)
        print(f"{T:>7d} {row[0]:>10.3f} {row[1]:>14.3f} {row[2]:>10.3f}   "
              f"{' / '.join(map(str, rounds)):>24s}")


def bench_tokens(contexts: list[int], d: int, repeats: int) -> None:
    rng = np.random.default_rng(1)
    f32 = np.float32
    x = rng.standard_normal(d).astype(f32)
    # minGRU: the gates' input product and the update; the state is h only.
    Wx, bg = rng.standard_normal((d, 2 * d)).astype(f32) / np.sqrt(d), np.zeros(2 * d, f32)
    h = np.zeros(d, f32)

    def mingru_step() -> np.ndarray:
        pre = x @ Wx + bg
        z = 1 / (1 + np.exp(-pre[:d]))
        return (1 - z) * h + z * pre[d:]

    Wqkv = rng.standard_normal((d, 3 * d)).astype(f32) / np.sqrt(d)
    Wo = rng.standard_normal((d, d)).astype(f32) / np.sqrt(d)
    cap = max(contexts) + 1
    K = rng.standard_normal((cap, d)).astype(f32)
    V = rng.standard_normal((cap, d)).astype(f32)

    def attention_step(n: int) -> np.ndarray:
        q, k, v = np.split(x @ Wqkv, 3)
        K[n], V[n] = k, v                       # append to the cache
        s = K[: n + 1] @ q / np.sqrt(d)
        w = np.exp(s - s.max())
        return (w / w.sum()) @ V[: n + 1] @ Wo

    t_rnn = 1e6 * median_seconds(mingru_step, repeats * 20)
    state = recurrent_state_bytes(layers=1, state_per_layer=d, bytes_per_value=4)
    print(f"2. One generated token, one layer, d = {d}, float32; median of {repeats} runs, "
          f"microseconds")
    print(f"{'context':>9s} {'minGRU step':>12s} {'attention step':>15s} "
          f"{'state bytes':>12s} {'KV cache bytes':>15s}")
    for n in contexts:
        t_att = 1e6 * median_seconds(lambda n=n: attention_step(n), repeats)
        cache = kv_cache_bytes(n, layers=1, kv_width=d, bytes_per_value=4)
        print(f"{n:>9d} {t_rnn:>12.1f} {t_att:>15.1f} {state:>12,d} {cache:>15,d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    args = parser.parse_args()
    if args.quick:
        bench_scans([64, 1024], N=4, H=32, repeats=3)
        print()
        bench_tokens([256, 16384], d=128, repeats=5)
    else:
        bench_scans([16, 64, 256, 1024, 4096, 16384], N=8, H=64, repeats=7)
        print()
        bench_scans([16, 64, 256, 1024, 4096, 16384], N=1, H=1, repeats=7)
        print()
        bench_tokens([256, 1024, 4096, 16384, 65536, 262144], d=256, repeats=21)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
