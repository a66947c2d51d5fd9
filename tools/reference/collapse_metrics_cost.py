"""Times the collapse metrics of native/src/collapse.cpp (the same ATen ops, in the same order) on the
tensor shapes of a training step, with the LibTorch version ibot4j builds against:

    python tools/reference/collapse_metrics_cost.py [--threads 2] [--reps 200]

Shapes: demo (batch 64, 2 global crops of 8x8 patches, out_dim = patch_out_dim 1024, embed 128, 1086
masked tokens as ci/bench counts them) and the published ViT-S/16 step per process (batch 64, 14x14
patches, 8192, embed 384, ~15 % of 2 x 64 x 196 tokens masked). Prints the minimum and median over reps
(the minimum is the machine's cost when nothing else runs; this project's machine is shared).
"""

import argparse
import statistics
import time

import torch

SHAPES = {"demo": dict(rows=128, k=1024, masked=1086, embed=128),
          "vit_s16": dict(rows=128, k=8192, masked=3763, embed=384)}


def metrics(cls_targets, patch_targets, embeddings):
    def row_entropy(p):
        return -torch.xlogy(p, p).sum(-1)
    m, r = patch_targets.shape[0], cls_targets.shape[0]
    if m > r:
        patch_targets = patch_targets[::-(-m // r)]
    used = torch.zeros(cls_targets.shape[1]).index_fill_(0, cls_targets.argmax(1), 1.0).sum()
    s = torch.linalg.svdvals(embeddings)
    rank = row_entropy(s / s.sum()).exp()
    return torch.stack([row_entropy(cls_targets).mean(), row_entropy(patch_targets).mean(), used, rank]).double()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    for name, s in SHAPES.items():
        cls_t = torch.softmax(torch.randn(s["rows"], s["k"], generator=g) / 0.04, -1)
        patch_t = torch.softmax(torch.randn(s["masked"], s["k"], generator=g) / 0.04, -1)
        emb = torch.randn(s["rows"], s["embed"], generator=g)
        parts = {"all": lambda: metrics(cls_t, patch_t, emb),
                 "svdvals": lambda: torch.linalg.svdvals(emb),
                 "patch entropy, every masked token": lambda: -torch.xlogy(patch_t, patch_t).sum(-1).mean()}
        for part, fn in parts.items():
            for _ in range(5):
                fn()
            times = []
            for _ in range(args.reps):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1e3)
            print(f"{name:8s} {part:34s} min {min(times):.3f} ms, median {statistics.median(times):.3f} ms "
                  f"(torch {torch.__version__}, {args.threads} threads)")


if __name__ == "__main__":
    main()
