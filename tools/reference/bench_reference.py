"""Times the reference's official-style train_step (head on every token of every crop, fp32) on the
demo configuration, for ci/bench. Prints one line: `reference: <images/s> images/s, <ms> ms/step,
peak RSS <MiB> MiB`.

    python tools/reference/bench_reference.py [--steps N] [--batch B] [--threads T]
"""
import argparse
import os
import resource
import sys
import time

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, IBOTTrainer, build_student, build_teacher  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--local", type=int, default=4)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    # The demo's model (trainer Demo.Recipe defaults): ViT dim 128, depth 4, 4 heads, patch 4 at 32 px.
    cfg = IBOTConfig(img_size=32, patch_size=4, embed_dim=128, depth=4, num_heads=4, drop_path_rate=0.1,
                     out_dim=1024, patch_out_dim=1024, hidden_dim=512, bottleneck_dim=128, shared_head=True,
                     shared_head_teacher=True, norm_last_layer=False)
    student = build_student(cfg)
    teacher = build_teacher(cfg, student)
    trainer = IBOTTrainer(cfg, student, teacher, 2, a.local)
    g = torch.randn(2 * a.batch, 3, 32, 32)
    l = torch.randn(a.local * a.batch, 3, 16, 16)
    masks = torch.rand(2 * a.batch, 8, 8) < 0.15
    step = lambda: trainer.train_step((g, l, masks), 1e-4, 0.04, 0.996, 0.04, 0.04, False, 3.0)
    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reference: {a.steps * a.batch / seconds:.1f} images/s, {1000 * seconds / a.steps:.1f} ms/step, "
          f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    sys.exit(main())
