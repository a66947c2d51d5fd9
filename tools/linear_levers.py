"""Measures three training-step levers of the speed issue on the linear layers of one block, with LibTorch's own
kernels (torch 2.13, the same libraries ibot4j links), before building them into the step:

1. one token matrix for all crops: the student's global and local crops through each linear layer (qkv, proj,
   fc1, fc2) as two products, against one product over the rows of both (the inputs concatenated, the output
   split again), forward + backward;
2. bias + GELU fused into fc1: at::linear then GELU against oneDNN's linear with the GELU post-op
   (mkldnn::_linear_pointwise), forward only: the backward of GELU needs the pre-activation, which the fused
   op does not return, so this is the most a training step could gain;
3. weights pre-packed once per step (bf16): the four products of the student's two passes through oneDNN with the
   weights reordered once (mkldnn::_reorder_linear_weight, its cost counted once per pass pair) against at::linear,
   forward only (backward products keep at::linear).

    python tools/linear_levers.py [--threads 2] [--configs demo vit_s16]

Prints one table per config and dtype: milliseconds, best of --rounds runs of --repeats calls each. Run it on an
idle machine.
"""
import argparse
import time

import torch
import torch.nn.functional as F

# per config: embed dim, MLP hidden, (images, tokens) of the student's global and local passes at ci/bench's batch
CONFIGS = {
    "demo": (128, 512, (2 * 64, 17), (4 * 64, 5)),
    "vit_s16": (384, 1536, (2 * 4, 197), (10 * 4, 37)),
}


def best_ms(fn, repeats, rounds):
    for _ in range(2):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return 1000 * best


def layers(dim, hidden, dtype, gen):
    shapes = {"qkv": (3 * dim, dim), "proj": (dim, dim), "fc1": (hidden, dim), "fc2": (dim, hidden)}
    return {name: ((0.02 * torch.randn(out, inp, generator=gen)).to(dtype).requires_grad_(),
                   torch.zeros(out, dtype=dtype).requires_grad_()) for name, (out, inp) in shapes.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(0)
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    print(f"torch {torch.__version__}, {a.threads} threads, best of {a.rounds} x {a.repeats} calls, ms")
    for config in a.configs:
        dim, hidden, (gn, gt), (ln, lt) = CONFIGS[config]
        for dtype in [torch.float32] + ([torch.bfloat16] if bf16 else []):
            w = layers(dim, hidden, dtype, gen)
            width = {"qkv": dim, "proj": dim, "fc1": dim, "fc2": hidden}
            print(f"\n{config}, {str(dtype).split('.')[-1]}: global {gn}x{gt} tokens, local {ln}x{lt} tokens")
            print("| layer | two products, fwd+bwd | one token matrix, fwd+bwd | linear + GELU, fwd | fused, fwd | "
                  "two passes' products, fwd | pre-packed (packing included), fwd |")
            print("|---|---|---|---|---|---|---|")
            for name, (weight, bias) in w.items():
                xg = torch.randn(gn, gt, width[name], generator=gen).to(dtype).requires_grad_()
                xl = torch.randn(ln, lt, width[name], generator=gen).to(dtype).requires_grad_()
                gy_g = torch.randn(gn, gt, weight.shape[0], generator=gen).to(dtype)
                gy_l = torch.randn(ln, lt, weight.shape[0], generator=gen).to(dtype)

                def two():
                    yg, yl = F.linear(xg, weight, bias), F.linear(xl, weight, bias)
                    torch.autograd.backward([yg, yl], [gy_g, gy_l])

                def one():
                    rows = torch.cat([xg.reshape(-1, xg.shape[-1]), xl.reshape(-1, xl.shape[-1])])
                    y = F.linear(rows, weight, bias)
                    yg, yl = y.split([gn * gt, ln * lt])
                    torch.autograd.backward([yg.view(gn, gt, -1), yl.view(ln, lt, -1)], [gy_g, gy_l])

                cells = [best_ms(two, a.repeats, a.rounds), best_ms(one, a.repeats, a.rounds)]
                with torch.no_grad():
                    xg_, xl_, w_, b_ = xg.detach(), xl.detach(), weight.detach(), bias.detach()
                    if name == "fc1":
                        cells.append(best_ms(lambda: F.gelu(F.linear(xg_, w_, b_)), a.repeats, a.rounds))
                        cells.append(best_ms(lambda: torch.ops.mkldnn._linear_pointwise(xg_, w_, b_, "gelu", [], "none"),
                                             a.repeats, a.rounds))
                    else:
                        cells += [None, None]
                    if dtype == torch.bfloat16:
                        cells.append(best_ms(lambda: (F.linear(xg_, w_, b_), F.linear(xl_, w_, b_)), a.repeats, a.rounds))

                        def packed():
                            wp = torch.ops.mkldnn._reorder_linear_weight(w_, gn * gt)
                            return (torch.ops.mkldnn._linear_pointwise(xg_, wp, b_, "none", [], ""),
                                    torch.ops.mkldnn._linear_pointwise(xl_, wp, b_, "none", [], ""))

                        cells.append(best_ms(packed, a.repeats, a.rounds))
                    else:
                        cells += [None, None]
                print(f"| {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
