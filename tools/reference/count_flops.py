"""Counts the matmul FLOPs of the reference's official-style training step with PyTorch's
FlopCounterMode (forward, backward; mm/addmm/bmm/conv/attention), for the golden check of ibot4j's
FLOP model (benchmarks StepFlops, fixture benchmarks/src/test/resources/flops.json). Writes JSON: one entry per config.

    python tools/reference/count_flops.py OUT.json
"""
import json
import os
import sys

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, IBOTTrainer, build_student, build_teacher  # noqa: E402

CONFIGS = {
    # the demo config and a narrow ViT-S/16-shaped one (multi-crop sizes as published, batch 2)
    "demo": dict(cfg=dict(img_size=32, patch_size=4, embed_dim=128, depth=4, num_heads=4, out_dim=1024, patch_out_dim=1024,
                          hidden_dim=512, bottleneck_dim=128, shared_head=True, norm_last_layer=False),
                 batch=4, n_local=4, global_size=32, local_size=16),
    "vit_s16_shape": dict(cfg=dict(img_size=224, patch_size=16, embed_dim=384, depth=2, num_heads=6, out_dim=2048,
                                   patch_out_dim=2048, hidden_dim=512, bottleneck_dim=256, shared_head=True,
                                   norm_last_layer=False),
                          batch=2, n_local=10, global_size=224, local_size=96),
}


def count(spec):
    torch.manual_seed(0)
    cfg = IBOTConfig(**spec["cfg"])
    student = build_student(cfg)
    teacher = build_teacher(cfg, student)
    trainer = IBOTTrainer(cfg, student, teacher, 2, spec["n_local"])
    b, g, l = spec["batch"], spec["global_size"], spec["local_size"]
    grid = g // cfg.patch_size
    batch = (torch.randn(2 * b, 3, g, g), torch.randn(spec["n_local"] * b, 3, l, l), torch.rand(2 * b, grid, grid) < 0.3)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step(batch, 1e-4, 0.04, 0.996, 0.04, 0.04, False, 3.0)
    return {**spec, "official_step_flops": counter.get_total_flops()}


def main():
    out = {name: count(spec) for name, spec in CONFIGS.items()}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
    for name, v in out.items():
        print(name, v["official_step_flops"])


if __name__ == "__main__":
    main()
