"""The fp32 matrix-multiply rate this machine reaches with PyTorch's CPU kernels (the ones LibTorch
uses), for ci/bench's utilisation column. Prints `matmul peak: <GFLOP/s> GFLOP/s` (best of a few
repeats of square products large enough to be compute-bound).

    python tools/reference/matmul_peak.py [--threads T]
"""
import argparse
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=2048)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x, y = torch.randn(a.size, a.size), torch.randn(a.size, a.size)
    out = torch.empty(a.size, a.size)
    torch.mm(x, y, out=out)
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(3):
            torch.mm(x, y, out=out)
        seconds = (time.perf_counter() - start) / 3
        best = max(best, 2 * a.size ** 3 / seconds / 1e9)
    print(f"matmul peak: {best:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
