"""Golden files for the DINOv2 and DINOv3 backbones, made with timm 1.0.29 (random weights, pretrained=False).

    python tools/reference/make_foundation_fixtures.py      (from the repository root; needs torch, timm, safetensors)

1. foundation-forward.safetensors: for each model below, timm's model at a small width and depth (the family's
   layout unchanged: registers, LayerScale, SwiGLU, RoPE, qkv bias as timm builds that name) with every tensor
   drawn at random, and timm's forward_features on two images at the model's own size and at a non-square other
   size (positions resized as timm does; RoPE on the other grid), in fp32 and under bf16 autocast.
   `FoundationParityTest` loads the weights into an ibot4j encoder by their timm names and compares the CLS token
   and the patch tokens after the final norm (bf16: its distance to timm's fp32 against timm's own bf16 distance).
2. dinov2_reg4.safetensors and dinov3_qkvb.safetensors: one iBOT training step whose backbones are timm modules
   (make_fixtures.py's reference step, its backbone replaced), in the layout ParityTest reads.
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import import_timm  # noqa: E402

import_timm()
import timm  # noqa: E402

import make_fixtures  # noqa: E402
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402

SMALL = dict(embed_dim=32, depth=2, num_heads=2)

# name -> (native size, other size (height, width))
FORWARD = {
    "vit_small_patch14_dinov2": (56, (70, 42)),
    "vit_small_patch14_reg4_dinov2": (56, (42, 84)),
    "vit_small_patch16_dinov3": (64, (96, 48)),
    "vit_small_plus_patch16_dinov3": (64, (48, 80)),
    "vit_base_patch16_dinov3_qkvb": (64, (80, 64)),
}


def family_fields(model):
    """ibot4j's config fields for a timm model of these families."""
    eva = type(model).__name__ == "Eva"
    block = model.blocks[0]
    mlp = block.mlp
    if eva:
        swiglu = hasattr(mlp, "fc1_g")
        qkv_bias = block.attn.q_bias is not None
        registers = model.reg_token.shape[1] if model.reg_token is not None else 0
        hidden = mlp.fc1_g.out_features if swiglu else mlp.fc1.out_features
        return dict(family="dinov3", num_register_tokens=registers, layer_scale_init=1e-5, swiglu=swiglu,
                    qkv_bias=qkv_bias, mlp_ratio=hidden / model.embed_dim)
    swiglu = type(mlp).__name__ == "GluMlp"
    registers = model.reg_token.shape[1] if model.reg_token is not None else 0
    return dict(family="dinov2", num_register_tokens=registers, layer_scale_init=1e-5, swiglu=swiglu,
                qkv_bias=block.attn.qkv.bias is not None, mlp_ratio=mlp.fc1.out_features / model.embed_dim)


def randomise(model, gen):
    """Every parameter drawn again, so that nothing is 0, 1 or 1e-5: LayerScale near 0.5, norms near 1,
    the rest N(0, 0.1) (embeddings N(0, 0.5))."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma") or "gamma_" in name:
                p.copy_(0.5 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name in ("cls_token", "reg_token", "pos_embed", "masked_embed"):
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def timm_model(name, size, **overrides):
    kwargs = dict(pretrained=False, num_classes=0, img_size=size, **SMALL, **overrides)
    if "dinov2" in name:
        kwargs["dynamic_img_size"] = True  # positions resized to other sizes, as timm does
    return timm.create_model(name, **kwargs).eval()


def state_of(model, prefix):
    """The model's tensors under ibot4j's names: timm's, plus DINOv3's RoPE periods (a buffer in timm)."""
    out = {f"{prefix}{n}": p.detach().clone().contiguous() for n, p in model.named_parameters()}
    rope = getattr(model, "rope", None)
    if rope is not None:
        out[f"{prefix}rope.periods"] = rope.periods.detach().clone().float()
    return out


def make_forward(out_dir):
    gen = torch.Generator().manual_seed(30)
    tensors, meta = {}, {}
    for name, (native, (oh, ow)) in FORWARD.items():
        model = timm_model(name, native)
        randomise(model, gen)
        tensors.update(state_of(model, f"{name}.weights."))
        cfg = dict(arch=name, img_size=native, **SMALL, **family_fields(model))
        prefix = model.num_prefix_tokens
        for which, (h, w) in (("native", (native, native)), ("other", (oh, ow))):
            x = torch.randn(2, 3, h, w, generator=gen)
            with torch.no_grad():
                feats = model.forward_features(x)
            # The same under bf16 autocast (what a PyTorch user runs for bf16 inference), stored as fp32: how far
            # timm's own bf16 lands from its fp32, the yardstick for ibot4j's bf16 Encoder.
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                half = model.forward_features(x).float()
            tensors[f"{name}.{which}.images"] = x
            tensors[f"{name}.{which}.cls"] = feats[:, 0].contiguous()
            tensors[f"{name}.{which}.patches"] = feats[:, prefix:].contiguous()
            tensors[f"{name}.{which}.cls_bf16"] = half[:, 0].contiguous()
            tensors[f"{name}.{which}.patches_bf16"] = half[:, prefix:].contiguous()
        meta[name] = json.dumps(cfg, sort_keys=True)
    meta["generator"] = f"tools/reference/make_foundation_fixtures.py, torch {torch.__version__}, timm {timm.__version__}"
    path = os.path.join(out_dir, "foundation-forward.safetensors")
    write_safetensors(path, tensors, meta)
    print(f"{path}: {os.path.getsize(path) / 1e3:.0f} kB, {len(tensors)} tensors")


# ---- the training step: the reference's iBOT step on timm backbones ----

def as_backbone(vit, student):
    """A timm DINOv2 / DINOv3 model as the reference's backbone, its tensors keeping their timm names:
    forward(x, mask) -> normed [CLS] and patch tokens [n, 1+N, D] (registers run through the blocks but are
    dropped from the output). The student's mask token (masked_embed) overwrites masked patch embeddings
    before positions are added, as in iBOT, DINOv2 and DINOv3."""
    vit.masked_im_modeling = student
    if student:
        vit.masked_embed = nn.Parameter(torch.zeros(1, vit.embed_dim))

    def forward(x, mask=None):
        m = vit
        x = m.patch_embed(x)  # [n, h, w, D] (dynamic image size)
        if mask is not None:
            x = torch.where(mask.bool().unsqueeze(-1), m.masked_embed.to(x.dtype), x)
        if type(m).__name__ == "Eva":
            x, rope = m._pos_embed(x)
            x = m.norm_pre(x)
            for blk in m.blocks:
                x = blk(x, rope=rope)
        else:
            x = m._pos_embed(x)
            x = m.norm_pre(x)
            x = m.blocks(x)
        x = m.norm(x)
        return torch.cat([x[:, :1], x[:, m.num_prefix_tokens:]], 1)

    vit.forward = forward
    return vit


def ibot_head(cfg, norm_last_layer, shared):
    from ibot_reference import iBOTHead
    return iBOTHead(cfg.embed_dim, cfg.out_dim, cfg.patch_out_dim, cfg.hidden_dim, cfg.bottleneck_dim, norm_last_layer, shared)


def ibot_student(vit, cfg):
    """The reference's student network on a timm backbone (as_backbone) and the reference's head."""
    from ibot_reference import iBOTNet
    return iBOTNet(as_backbone(vit, True), ibot_head(cfg, cfg.norm_last_layer, cfg.shared_head))


def ibot_teacher(vit, cfg, student):
    """The teacher on a timm backbone: the student's tensors copied non-strictly (as the official code), frozen."""
    from ibot_reference import iBOTNet
    teacher = iBOTNet(as_backbone(vit, False), ibot_head(cfg, True, cfg.shared_head_teacher))
    teacher.load_state_dict(student.state_dict(), strict=False)
    for prm in teacher.parameters():
        prm.requires_grad = False
    return teacher


STEP_MODELS = {"dinov2_reg4": ("vit_small_patch14_reg4_dinov2", 14), "dinov3_qkvb": ("vit_small_plus_patch16_dinov3_qkvb", 16)}
HEAD = dict(out_dim=64, patch_out_dim=64, hidden_dim=32, bottleneck_dim=16)


def step_spec(key, seed):
    name, p = STEP_MODELS[key]
    probe = timm_model(name, 4 * p)
    fields = family_fields(probe)
    config = dict(make_fixtures.COMMON, img_size=4 * p, patch_size=p, drop_path_rate=0.0, **SMALL, **HEAD,
                  mlp_ratio=fields["mlp_ratio"], qkv_bias=fields["qkv_bias"],
                  shared_head=True, shared_head_teacher=True, norm_last_layer=False)
    extra = {k: v for k, v in fields.items() if k not in ("mlp_ratio", "qkv_bias")}
    step = dict(lr=1e-3, weight_decay=0.04, teacher_momentum=0.99, teacher_temp=0.07, teacher_patch_temp=0.06,
                freeze_last_layer=False, clip_grad=0.3, batch_size=4, n_global=2, n_local=3,
                global_size=4 * p, local_size=2 * p)
    return name, dict(seed=seed, config=config, step=step, config_extra=extra,
                      generator="tools/reference/make_foundation_fixtures.py (timm " + timm.__version__ + ")")


def make_step(key, seed, out_dir):
    name, spec = step_spec(key, seed)
    ibot = make_fixtures  # its make() builds the networks with build_student / build_teacher: swap the backbone
    original = (ibot.build_student, ibot.build_teacher)

    def build_student(cfg):
        vit = timm_model(name, cfg.img_size).train()
        randomise(vit, torch.Generator().manual_seed(seed))
        return ibot_student(vit, cfg)

    def build_teacher(cfg, student):
        return ibot_teacher(timm_model(name, cfg.img_size), cfg, student)

    ibot.build_student, ibot.build_teacher = build_student, build_teacher

    def add_periods(out, trainer, loss_fn):
        for net_name, net in (("student", trainer.student), ("teacher", trainer.teacher)):
            rope = getattr(net.backbone, "rope", None)
            if rope is not None:
                for stage in ("", "after."):
                    out[f"{stage}{net_name}.backbone.rope.periods"] = rope.periods.detach().clone().float()

    spec["extra"] = add_periods
    try:
        ibot.make(key, spec, out_dir)
    finally:
        ibot.build_student, ibot.build_teacher = original


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    torch.set_num_threads(1)
    os.makedirs(out_dir, exist_ok=True)
    make_forward(out_dir)
    make_step("dinov2_reg4", 31, out_dir)
    make_step("dinov3_qkvb", 32, out_dir)


if __name__ == "__main__":
    main()
