"""Times the reference's official-style train_step (head on every token of every crop, fp32) on the
tiny, demo, ViT-S/16 or DINOv3 ViT-S/16 configuration, for ci/bench. Prints one line: `reference: <images/s> images/s,
<ms> ms/step, peak RSS <MiB> MiB`.

    python tools/reference/bench_reference.py [--config tiny|demo|vit_s16|dinov3_s16] [--steps N] [--batch B] [--threads T]
        [--bf16] [--compile] [--profile FILE]

--compile: student, teacher and loss through torch.compile (inductor), as a PyTorch user would write it, the mask
token written with torch.where as DINOv2 does (the official boolean-index assignment makes inductor break the graph
at aten.nonzero); warmed up until a step compiles nothing new. The line then adds `compile <s> s` (the warm-up).
"""
import argparse
import os
import resource
import sys
import time
import types

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, IBOTTrainer, build_student, build_teacher  # noqa: E402


PRESETS = {
    # the performance issue's Fashion-MNIST config: ViT-tiny with 6 blocks, patch 4 at 32 px, official 2048/256 head
    # with out_dim 1024, shared; 2x32 + 6x16 crops
    "tiny": (dict(img_size=32, patch_size=4, embed_dim=192, depth=6, num_heads=3, drop_path_rate=0.1, out_dim=1024,
                  patch_out_dim=1024, hidden_dim=2048, bottleneck_dim=256, shared_head=True, shared_head_teacher=True,
                  norm_last_layer=False), 6, 32, 16),
    # the demo recipe's network (recipes/demo.yaml): ViT 128 x 4 blocks, 4 heads, patch 8 at 32 px; head 512/128/1024,
    # shared, last layer normalised; 2x32 + 4x16 crops (ibot4j's bench preset turns its remedies off to match)
    "demo": (dict(img_size=32, patch_size=8, embed_dim=128, depth=4, num_heads=4, drop_path_rate=0.1, out_dim=1024,
                  patch_out_dim=1024, hidden_dim=512, bottleneck_dim=128, shared_head=True, shared_head_teacher=True,
                  norm_last_layer=True), 4, 32, 16),
    # the published ViT-S/16 run: 384 x 12, 6 heads, head 2048/256/8192 shared; 2x224 + 10x96 crops
    "vit_s16": (dict(img_size=224, patch_size=16, embed_dim=384, depth=12, num_heads=6, drop_path_rate=0.1, out_dim=8192,
                     patch_out_dim=8192, hidden_dim=2048, bottleneck_dim=256, shared_head=True, shared_head_teacher=True,
                     norm_last_layer=False), 10, 224, 96),
}
# The ViT-S/16 run on timm's DINOv3 ViT-S/16 backbone (RoPE, 4 storage tokens, LayerScale): the same head and crops.
PRESETS["dinov3_s16"] = PRESETS["vit_s16"]
TIMM_BACKBONES = {"dinov3_s16": "vit_small_patch16_dinov3"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", choices=sorted(PRESETS), default="tiny")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--bf16", action="store_true", help="bf16 autocast around the step (CUDA, or a CPU with native bf16)")
    p.add_argument("--compile", action="store_true", help="student, teacher and loss through torch.compile (inductor)")
    p.add_argument("--profile", metavar="FILE",
                   help="after the warm-up, write one step's torch.profiler trace (Chrome JSON) to FILE instead of timing")
    p.add_argument("--fp16", action="store_true",
                   help="fp16 autocast around the step, the official --use_fp16 (CUDA; loss scaling left out: a few "
                        "element-wise ops, it does not change the speed)")
    a = p.parse_args()
    if a.bf16 and a.fp16:
        sys.exit("--bf16 and --fp16 exclude each other")
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: this torch sees no CUDA device")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    fields, n_local, global_size, local_size = PRESETS[a.config]
    cfg = IBOTConfig(**fields)
    if a.config in TIMM_BACKBONES:
        student, teacher = timm_networks(TIMM_BACKBONES[a.config], cfg)
    else:
        student = build_student(cfg)
        teacher = build_teacher(cfg, student)
    student, teacher = student.to(a.device), teacher.to(a.device)
    trainer = IBOTTrainer(cfg, student, teacher, 2, n_local)
    trainer.loss_fn.to(a.device)
    if a.compile:
        for net in (student, teacher):
            net.backbone.mask_model = types.MethodType(mask_with_where, net.backbone)
        # The optimiser and the EMA keep the modules' own parameters; only the calls go through the compiled graphs.
        trainer.student, trainer.teacher = torch.compile(student), torch.compile(teacher)
        trainer.loss_fn = torch.compile(trainer.loss_fn)
    grid = global_size // cfg.patch_size
    g = torch.randn(2 * a.batch, 3, global_size, global_size, device=a.device)
    l = torch.randn(n_local * a.batch, 3, local_size, local_size, device=a.device)
    masks = torch.rand(2 * a.batch, grid, grid, device=a.device) < 0.15

    def step():
        dtype = torch.float16 if a.fp16 else torch.bfloat16
        with torch.autocast(device_type=a.device, dtype=dtype, enabled=a.bf16 or a.fp16):
            trainer.train_step((g, l, masks), 1e-4, 0.04, 0.996, 0.04, 0.04, False, 3.0)

    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    started = time.perf_counter()
    if a.compile:
        # Until a step compiles nothing new (the first builds the graphs, later ones may recompile once for
        # guards that changed, e.g. the EMA's momentum or the parameters' versions).
        for _ in range(5):
            before = compiled_frames()
            step()
            sync()
            if compiled_frames() == before:
                break
    for _ in range(max(1, min(2, a.steps // 3))):
        step()
    sync()
    warmup = time.perf_counter() - started
    if a.profile:
        # One step under PyTorch's profiler (CPU ops), as ibot4j's IBOT4J_TRACE records one of its steps.
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            step()
            sync()
        prof.export_chrome_trace(a.profile)
        print(f"op trace of one step written to {a.profile}")
        return 0
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if a.device == "cuda":
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB")
    print(f"reference: {a.steps * a.batch / seconds:.2f} images/s, {1000 * seconds / a.steps:.1f} ms/step, "
          f"peak RSS {peak:.0f} MiB" + (f", compile {warmup:.0f} s" if a.compile else ""))


def timm_networks(name, cfg):
    """Student and teacher on timm's model `name` at full size (make_foundation_fixtures' wrapping: the mask token
    written before positions, registers dropped from the output) under the reference's iBOT heads."""
    from check_export import import_timm
    from make_foundation_fixtures import ibot_student, ibot_teacher
    import_timm()
    import timm

    def vit(**overrides):
        return timm.create_model(name, pretrained=False, num_classes=0, img_size=cfg.img_size, **overrides)

    student = ibot_student(vit(drop_path_rate=cfg.drop_path_rate).train(), cfg)
    return student, ibot_teacher(vit().eval(), cfg, student)


def mask_with_where(self, x, mask):
    # The official overwrite of the masked cells, as DINOv2 writes it: a select rather than a boolean-index store.
    return torch.where(mask.unsqueeze(1), self.masked_embed.to(x.dtype).view(1, -1, 1, 1), x)


def compiled_frames():
    return torch._dynamo.utils.counters["stats"]["unique_graphs"]


if __name__ == "__main__":
    sys.exit(main())
