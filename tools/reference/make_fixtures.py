"""Writes the golden fixtures java-api/src/test/resources/fixtures/<scenario>.safetensors.

    python tools/reference/make_fixtures.py [--out DIR]

Each file holds the weights before a step, the inputs, the reference's forward/head/loss outputs and
the state after one train_step; see tools/reference/README.md for the layout. Everything is fp32 on
the CPU, single-threaded, seeded, so a rerun with the same PyTorch gives the same bytes.
"""

import argparse
import dataclasses
import json
import math
import os
import random
import struct
import sys

import torch
import torch.nn as nn

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, IBOTTrainer, build_student, build_teacher, iBOTLoss  # noqa: E402

try:
    from safetensors import safe_open
    from safetensors.torch import load_file
except ImportError:  # pragma: no cover
    load_file = None

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "java-api", "src", "test", "resources", "fixtures")

COMMON = dict(img_size=32, patch_size=4, in_chans=3, embed_dim=64, depth=2, num_heads=4, mlp_ratio=4.0,
              qkv_bias=True, drop_path_rate=0.0, out_dim=256, patch_out_dim=256, hidden_dim=128,
              bottleneck_dim=32, student_temp=0.1, center_momentum=0.9, center_momentum2=0.9,
              lambda1=1.0, lambda2=1.0, beta1=0.9, beta2=0.999, eps=1e-8)
SHAPE = dict(batch_size=4, n_global=2, n_local=3, global_size=32, local_size=16)

SCENARIOS = {
    "published": dict(
        seed=1,
        config=dict(COMMON, shared_head=True, shared_head_teacher=True, norm_last_layer=False),
        step=dict(lr=1e-3, weight_decay=0.04, teacher_momentum=0.99, teacher_temp=0.07,
                  teacher_patch_temp=0.06, freeze_last_layer=False, clip_grad=0.3, **SHAPE),
    ),
    "defaults": dict(
        seed=2,
        config=dict(COMMON, shared_head=False, shared_head_teacher=True, norm_last_layer=True),
        step=dict(lr=5e-4, weight_decay=0.05, teacher_momentum=0.996, teacher_temp=0.04,
                  teacher_patch_temp=0.05, freeze_last_layer=True, clip_grad=3.0, **SHAPE),
    ),
}

# Masked fraction per image, crop-major [crop][image]; one unmasked image per crop, all ratios differ.
MASK_RATIOS = [[0.0, 0.15, 0.3, 0.5], [0.4, 0.0, 0.1, 0.25]]


def block_mask(rng: random.Random, H, W, ratio):
    """BEiT-style block mask of ImageFolderMask (spec section 4), pred_aspect_ratio (0.3, 1/0.3)."""
    log_aspect = (math.log(0.3), math.log(1 / 0.3))
    high = ratio * H * W
    mask = [[False] * W for _ in range(H)]
    count = 0
    while count < high:
        max_mask_patches = high - count
        delta = 0
        for _ in range(10):
            low = (min(H, W) // 3) ** 2
            target_area = rng.uniform(low, max_mask_patches)
            aspect = math.exp(rng.uniform(*log_aspect))
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if w < W and h < H:
                top = rng.randint(0, H - h)
                left = rng.randint(0, W - w)
                num_masked = sum(mask[i][j] for i in range(top, top + h) for j in range(left, left + w))
                if 0 < h * w - num_masked <= max_mask_patches:
                    for i in range(top, top + h):
                        for j in range(left, left + w):
                            if not mask[i][j]:
                                mask[i][j] = True
                                delta += 1
                if delta > 0:
                    break
        if delta == 0:
            break
        count += delta
    return torch.tensor(mask, dtype=torch.bool)


_DTYPES = {torch.float32: "F32", torch.uint8: "U8"}


def write_safetensors(path, tensors, metadata):
    """safetensors format, written by hand so that the bytes are reproducible: the library's writer
    emits __metadata__ entries in hash order, which changes from run to run. Layout: u64 LE header
    length, JSON header {"__metadata__": {str: str}, name: {dtype, shape, data_offsets}} padded with
    spaces to a multiple of 8, then the raw little-endian data; tensors ordered by element size
    (largest first, as the library does, so every tensor stays aligned), then by name."""
    header = {"__metadata__": dict(sorted(metadata.items()))}
    blobs, offset = [], 0
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name].detach().contiguous()
        data = t.numpy().tobytes()  # x86/ARM hosts are little-endian
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def named_params(prefix, net):
    return {f"{prefix}.{n}": p.detach().clone().contiguous() for n, p in net.named_parameters()}


def make(name, spec, out_dir):
    """spec: seed, config, step; optional (tools/reference/make_remedies_fixture.py) loss (the loss class),
    trainer (a factory like IBOTTrainer), config_extra (merged into the config metadata) and
    extra(out, trainer, loss_fn), which adds tensors after the step."""
    cfg = IBOTConfig(**spec["config"])
    st = spec["step"]
    B, G, L = st["batch_size"], st["n_global"], st["n_local"]
    gs, ls, p = st["global_size"], st["local_size"], cfg.patch_size
    seed = spec["seed"]

    # ---- models: official init, then perturbations so that nothing is trivially 0 or 1 ----
    torch.manual_seed(seed)
    student = build_student(cfg)
    teacher = build_teacher(cfg, student)
    gen = torch.Generator().manual_seed(1000 + seed)

    def noise(t, std):
        return torch.randn(t.shape, generator=gen) * std

    with torch.no_grad():
        student.backbone.masked_embed.add_(noise(student.backbone.masked_embed, 0.02))
        for m in student.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.add_(noise(m.weight, 0.02))
                m.bias.add_(noise(m.bias, 0.02))
        for n, prm in student.named_parameters():
            if n.endswith("weight_g"):
                prm.add_(noise(prm, 0.02))
        s_params = dict(student.named_parameters())
        for n, prm in teacher.named_parameters():
            prm.copy_(s_params[n] + noise(prm, 0.01))

    # ---- inputs ----
    x_global = torch.randn(B * G, cfg.in_chans, gs, gs, generator=gen)
    x_local = torch.randn(B * L, cfg.in_chans, ls, ls, generator=gen)
    rng = random.Random(seed)
    hp = gs // p
    masks = torch.stack([block_mask(rng, hp, hp, MASK_RATIOS[c][i]) for c in range(G) for i in range(B)])
    center = torch.randn(1, cfg.out_dim, generator=gen) * 0.5
    center2 = torch.randn(1, 1, cfg.loss_patch_dim, generator=gen) * 0.5

    out = {}
    out.update(named_params("student", student))
    out.update(named_params("teacher", teacher))
    out["input.global"] = x_global
    out["input.local"] = x_local
    out["input.masks"] = masks.to(torch.uint8)
    out["input.center"] = center.clone()
    out["input.center2"] = center2.clone()

    # ---- forwards, heads, loss on exactly these logits ----
    with torch.no_grad():
        s_glob = student.backbone(x_global, masks)
        s_glob_unmasked = student.backbone(x_global)
        s_loc = student.backbone(x_local)
        t_glob = teacher.backbone(x_global)
        s_cls_g, s_patch_g = student.head(s_glob)
        s_cls_l, _ = student.head(s_loc)
        t_cls, t_patch = teacher.head(t_glob)
        loss_fn = spec.get("loss", iBOTLoss)(cfg, G, L)
        loss_fn.center.copy_(center)
        loss_fn.center2.copy_(center2)
        lo = loss_fn((s_cls_g, s_patch_g), (t_cls, t_patch), s_cls_l, list(masks.chunk(G)),
                     st["teacher_temp"], st["teacher_patch_temp"])
    out["expected.student_global_tokens"] = s_glob
    out["expected.student_global_tokens_unmasked"] = s_glob_unmasked
    out["expected.student_local_tokens"] = s_loc
    out["expected.teacher_global_tokens"] = t_glob
    out["expected.student_cls_logits"] = torch.cat([s_cls_g, s_cls_l])
    out["expected.student_patch_logits"] = s_patch_g
    out["expected.teacher_cls_logits"] = t_cls
    out["expected.teacher_patch_logits"] = t_patch
    out["expected.loss"] = torch.stack([lo["loss"], lo["cls"], lo["patch"]])
    out["expected.center_after_loss"] = loss_fn.center.clone()
    out["expected.center2_after_loss"] = loss_fn.center2.clone()

    # ---- one train step from the stored state ----
    trainer = spec.get("trainer", IBOTTrainer)(cfg, student, teacher, G, L)
    trainer.loss_fn.center.copy_(center)
    trainer.loss_fn.center2.copy_(center2)
    r = trainer.train_step((x_global, x_local, masks), st["lr"], st["weight_decay"], st["teacher_momentum"],
                           st["teacher_temp"], st["teacher_patch_temp"], st["freeze_last_layer"], st["clip_grad"])
    out.update(named_params("after.student", student))
    out.update(named_params("after.teacher", teacher))
    out["after.center"] = trainer.loss_fn.center.clone()
    out["after.center2"] = trainer.loss_fn.center2.clone()
    out["after.loss"] = r.loss
    out["after.grad_norm"] = torch.tensor([r.grad_norm], dtype=torch.float32)
    # The gradients AdamW used (after clipping; none for cancelled last-layer parameters): they let the
    # parity test compare gradients directly and tell which updates Adam's first step makes ill-conditioned.
    for n, p in student.named_parameters():
        if p.grad is not None:
            out[f"after.grad.student.{n}"] = p.grad.detach().clone()

    if "extra" in spec:
        spec["extra"](out, trainer, loss_fn)

    out = {k: v.detach().contiguous() for k, v in out.items()}
    for k, v in out.items():
        assert v.dtype == (torch.uint8 if k == "input.masks" else torch.float32), k
        assert torch.isfinite(v.float()).all(), k
    metadata = {
        "config": json.dumps(dict(dataclasses.asdict(cfg), **spec.get("config_extra", {}))),
        "step": json.dumps(st),
        "generator": f"{spec.get('generator', 'tools/reference/make_fixtures.py')}, torch {torch.__version__}, seed {seed}",
    }
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.safetensors")
    write_safetensors(path, out, metadata)

    # ---- summary and sanity checks ----
    back = load_file(path)  # the reference reader must agree with the hand-written file
    assert set(back) == set(out) and all(torch.equal(back[k], out[k]) for k in out), "reload mismatch"
    with safe_open(path, "pt") as f:
        assert f.metadata() == metadata, "metadata mismatch"
    added = torch.tensor([float(getattr(trainer, "koleo_value", 0.0)), 0.0, 0.0])  # a term outside the iBOT loss
    assert torch.allclose(r.loss - added, out["expected.loss"]), "step loss differs from the standalone loss"
    frac = masks.flatten(1).float().mean(1).tolist()
    moved = [n for n in dict(student.named_parameters())
             if not torch.equal(out[f"student.{n}"], out[f"after.student.{n}"])]
    print(f"{name}: {path} ({os.path.getsize(path) / 1e6:.2f} MB, {len(out)} tensors)")
    print(f"  mask fractions per image (crop-major): {[round(f, 3) for f in frac]}")
    print(f"  loss (total, cls, patch) = {[round(v, 6) for v in out['expected.loss'].tolist()]}")
    print(f"  grad norm before clipping = {r.grad_norm:.6f}; clip {st['clip_grad']}: "
          f"{r.clipped}/{len(r.param_norms)} parameter tensors clipped")
    print(f"  student tensors changed by the step: {len(moved)}/{len(dict(student.named_parameters()))}"
          f" (unchanged: {sorted(set(dict(student.named_parameters())) - set(moved))})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", choices=sorted(SCENARIOS))
    args = ap.parse_args()
    if load_file is None:
        sys.exit("safetensors is not installed (see tools/reference/README.md)")
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    for name, spec in SCENARIOS.items():
        if args.only is None or args.only == name:
            make(name, spec, args.out)


if __name__ == "__main__":
    main()
