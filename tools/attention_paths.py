"""CPU time of one attention call (forward, and forward + backward) per path, dtype and shape: the
measurement behind native/src/vit.cpp's attention_path. One thread, CPU time of the process (less
skewed by other jobs than wall time), best of N after one warm-up. Paths: SDPA (flash on the CPU),
SDPA's math kernel, the official formula in the inputs' dtype, the formula with an fp32 softmax, and
fp32 flash inside a bf16 step (casts included). bf16 rows mean something only on a CPU with native
bf16 (avx512_bf16 or AMX).

    python tools/attention_paths.py [N] ["SHAPE NAME" ...]   (default: every shape below)
"""
import sys
import time

import torch
import torch.nn.functional as F


def flash(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)


def math(q, k, v):
    return torch.ops.aten._scaled_dot_product_attention_math(q, k, v)[0]


def formula(q, k, v):
    return ((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5).softmax(-1) @ v


def formula_fp32_softmax(q, k, v):
    return ((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5).softmax(-1, dtype=torch.float32).to(q.dtype) @ v


def fp32_flash(q, k, v):
    return F.scaled_dot_product_attention(q.float(), k.float(), v.float()).to(q.dtype)


PATHS = {"flash": flash, "math": math, "formula": formula, "formula_fp32_softmax": formula_fp32_softmax,
         "fp32_flash": fp32_flash}
# [images, heads, tokens, head dim] of the attention calls in one batch-64 step
SHAPES = {"tiny global": (128, 3, 65, 64), "tiny local": (384, 3, 17, 64), "demo global": (128, 4, 65, 32),
          "demo local": (256, 4, 17, 32), "vit_s16 global": (8, 6, 197, 64), "vit_s16 local": (40, 6, 37, 64),
          "dinov3_s16 global": (8, 6, 201, 64), "dinov3_s16 local": (40, 6, 41, 64)}


def cpu_ms(fn, shape, dtype, backward, reps):
    g = torch.Generator().manual_seed(0)
    q, k, v = [torch.randn(shape, generator=g).to(dtype).requires_grad_(backward) for _ in range(3)]
    grad = torch.randn(shape, generator=g).to(dtype)
    times = []
    for _ in range(reps + 1):
        start = time.process_time()
        if backward:
            fn(q, k, v).backward(grad)
        else:
            with torch.no_grad():
                fn(q, k, v)
        times.append(time.process_time() - start)
    return 1e3 * min(times[1:])


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    names = sys.argv[2:] or list(SHAPES)
    torch.set_num_threads(1)
    for dtype in (torch.bfloat16, torch.float32):
        for name in names:
            shape = SHAPES[name]
            for backward in (True, False):
                cells = [f"{p} {cpu_ms(fn, shape, dtype, backward, reps):.1f}" for p, fn in PATHS.items()
                         if dtype == torch.bfloat16 or p in ("flash", "math", "formula")]
                print(f"{str(dtype)[6:]:8s} {name:11s} {'fwd+bwd' if backward else 'fwd':7s} ms: " + ", ".join(cells),
                      flush=True)


if __name__ == "__main__":
    main()
