"""PyTorch's side of ci/bench-embed: timm's VisionTransformer (ViT-S/16) with the weights ibot4j exported
(vit_s16.pth, timm names, strict load), on the same prepared images (input.safetensors), under
torch.inference_mode, batches as the Java side, best of --rounds passes after one warm-up. With --dinov3,
timm's vit_small_patch16_dinov3 (CLS token of forward_features) with the weights of vit_s16_dinov3.safetensors
in DIR, which the first such call writes (random weights, seed 0: speed does not depend on them) for the Java
side to open too.

    python tools/reference/bench_embed.py DIR --threads 2 --batch 16 [--bf16] [--dinov3]
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import import_timm, timm_vit  # noqa: E402  (imports timm with the torchvision stand-in)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--profile", metavar="TRACE", help="write one batch's op trace (torch.profiler, Chrome format) instead of timing")
    p.add_argument("--dinov3", action="store_true", help="timm's vit_small_patch16_dinov3 instead of ibot4j's exported ViT-S/16")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    with open(os.path.join(a.dir, "input.safetensors"), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    cfg = json.loads(header["__metadata__"]["config"])
    images = load_file(os.path.join(a.dir, "input.safetensors"))["images"]
    if a.dinov3:
        import_timm()
        import timm
        from safetensors.torch import save_file
        torch.manual_seed(0)
        model = timm.create_model("vit_small_patch16_dinov3", pretrained=False, num_classes=0).eval()
        weights = os.path.join(a.dir, "vit_s16_dinov3.safetensors")
        if not os.path.exists(weights):
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
        model.load_state_dict(load_file(weights), strict=True)
    else:
        model = timm_vit(cfg)
        model.load_state_dict(torch.load(os.path.join(a.dir, "vit_s16.pth"), weights_only=True), strict=True)
    n = images.shape[0] // a.batch * a.batch
    best = 0.0
    if a.profile:
        # One batch under PyTorch's profiler after a warm-up one, as EmbedBench's IBOT4J_TRACE records the Encoder's.
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            model.forward_features(images[:a.batch])
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                model.forward_features(images[:a.batch])[:, 0]
        prof.export_chrome_trace(a.profile)
        print(f"op trace of one batch written to {a.profile}")
        return 0
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        for r in range(a.rounds + 1):
            start = time.perf_counter()
            for b in range(0, n, a.batch):
                model.forward_features(images[b:b + a.batch])[:, 0]
            ips = n / (time.perf_counter() - start)
            if r > 0:
                best = max(best, ips)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
    print(f"pytorch: {best:.2f} images/s (timm {'DINOv3 ' if a.dinov3 else ''}ViT-S/16, torch {torch.__version__}, {a.threads} threads, batch {a.batch}, "
          f"{'bf16' if a.bf16 else 'fp32'}, peak RSS {rss} MiB)")


if __name__ == "__main__":
    main()
