"""DINOv2 and DINOv3 weight files in the layouts users hold, from random-weight timm models (no download).

    python tools/reference/make_foundation_layouts.py     (from the repository root; needs torch, timm, safetensors)

Writes java-api/src/test/resources/fixtures/layouts/:
  timm_dinov2_reg4.safetensors  timm's state_dict of vit_small_patch14_reg4_dinov2 (small), safetensors.save_file
  timm_dinov3.pth               timm's state_dict of vit_small_plus_patch16_dinov3 (small), torch.save
  meta_dinov2.pth               vit_small_patch14_dinov2 (small) under Meta's hub names (dinov2_vits14_pretrain.pth)
  meta_dinov2_reg4.pth          vit_small_patch14_reg4_dinov2 (small), Meta's names: register_tokens, and a pos_embed
                                whose [CLS] row timm folds into cls_token
  meta_dinov3_qkvb.pth          vit_small_patch16_dinov3_qkvb (small) under Meta's names (dinov3_vits16_pretrain_*.pth):
                                storage_tokens, ls1.gamma, attn.qkv.bias (+ bias_mask), mask_token, rope_embed.periods
                                in bf16 as Meta stores them
and expected.safetensors: per file, images and timm's CLS / patch tokens (after the final norm) for those weights; for
the Meta DINOv3 file, with timm's periods replaced by the file's bf16 ones (the periods Meta's model computes with).
The Meta names are the inverse of timm's own checkpoint filters (vision_transformer._convert_dinov2,
eva.checkpoint_filter_fn), checked against facebookresearch/dinov2 and dinov3's module names.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_foundation_fixtures import SMALL, randomise, timm  # noqa: E402  (imports timm with the stand-in)
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402
from safetensors.torch import save_file  # noqa: E402


def model(name, size, gen):
    kwargs = dict(pretrained=False, num_classes=0, img_size=size, **SMALL)
    if "dinov2" in name:
        kwargs["dynamic_img_size"] = True
    m = timm.create_model(name, **kwargs).eval()
    randomise(m, gen)
    return m


def meta_dinov2(m, gen):
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    out = {}
    if "reg_token" in sd:
        # Meta: pos_embed covers [CLS] too; timm adds its row to cls_token. Any row works: choose one at random.
        cls_pos = torch.randn(1, 1, sd["cls_token"].shape[-1], generator=gen) * 0.5
        out["cls_token"] = sd.pop("cls_token") - cls_pos
        out["pos_embed"] = torch.cat([cls_pos, sd.pop("pos_embed")], 1)
        out["register_tokens"] = sd.pop("reg_token")
    out["mask_token"] = torch.randn(1, sd["cls_token"].shape[-1] if "cls_token" in sd else out["cls_token"].shape[-1], generator=gen)
    for k, v in sd.items():
        out[k] = v
    return out


def meta_dinov3(m, gen):
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    out = {"cls_token": sd.pop("cls_token"), "storage_tokens": sd.pop("reg_token"),
           "mask_token": torch.randn(1, m.embed_dim, generator=gen),
           "rope_embed.periods": m.rope.periods.to(torch.bfloat16)}
    for k, v in sd.items():
        if k.endswith("attn.q_bias"):
            block = k[: -len("q_bias")]
            q, vb = v, sd[block + "v_bias"]
            key = torch.randn(q.shape, generator=gen)  # masked to zero by bias_mask in Meta's model
            out[block + "qkv.bias"] = torch.cat([q, key, vb])
            mask = torch.ones(3 * q.shape[0])
            mask[q.shape[0]: 2 * q.shape[0]] = 0
            out[block + "qkv.bias_mask"] = mask
        elif k.endswith("attn.v_bias"):
            continue
        else:
            out[k.replace("gamma_1", "ls1.gamma").replace("gamma_2", "ls2.gamma").replace("mlp.fc1_g", "mlp.w1")
                 .replace("mlp.fc1_x", "mlp.w2").replace("mlp.fc2", "mlp.w3" if hasattr(m.blocks[0].mlp, "fc1_g") else "mlp.fc2")] = v
    return out


def main():
    out_dir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT, "layouts")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(300)
    expected, meta = {}, {}

    def record(file, m, size, heads_known, arch):
        x = torch.randn(2, 3, size, size, generator=gen)
        with torch.no_grad():
            feats = m.forward_features(x)
        expected[f"{file}.images"] = x
        expected[f"{file}.cls"] = feats[:, 0].contiguous()
        expected[f"{file}.patches"] = feats[:, m.num_prefix_tokens:].contiguous()
        meta[file] = json.dumps(dict(arch=arch, embed_dim=m.embed_dim, depth=len(m.blocks), num_heads=SMALL["num_heads"],
                                     heads_in_file=heads_known), sort_keys=True)

    m = model("vit_small_patch14_reg4_dinov2", 56, gen)
    save_file({k: v.contiguous() for k, v in m.state_dict().items()}, os.path.join(out_dir, "timm_dinov2_reg4.safetensors"))
    record("timm_dinov2_reg4.safetensors", m, 56, False, "vit_small_patch14_reg4_dinov2")

    m = model("vit_small_plus_patch16_dinov3", 64, gen)
    torch.save(m.state_dict(), os.path.join(out_dir, "timm_dinov3.pth"))
    record("timm_dinov3.pth", m, 64, False, "vit_small_plus_patch16_dinov3")

    m = model("vit_small_patch14_dinov2", 56, gen)
    torch.save(meta_dinov2(m, gen), os.path.join(out_dir, "meta_dinov2.pth"))
    record("meta_dinov2.pth", m, 56, False, "vit_small_patch14_dinov2")

    m = model("vit_small_patch14_reg4_dinov2", 56, gen)
    torch.save(meta_dinov2(m, gen), os.path.join(out_dir, "meta_dinov2_reg4.pth"))
    record("meta_dinov2_reg4.pth", m, 56, False, "vit_small_patch14_reg4_dinov2")

    m = model("vit_small_patch16_dinov3_qkvb", 64, gen)
    torch.save(meta_dinov3(m, gen), os.path.join(out_dir, "meta_dinov3_qkvb.pth"))
    with torch.no_grad():
        m.rope.periods.copy_(m.rope.periods.to(torch.bfloat16).float())  # what Meta's model computes with
    record("meta_dinov3_qkvb.pth", m, 64, True, "vit_small_patch16_dinov3_qkvb")

    meta["generator"] = f"tools/reference/make_foundation_layouts.py, torch {torch.__version__}, timm {timm.__version__}"
    write_safetensors(os.path.join(out_dir, "expected.safetensors"), expected, meta)
    for f in sorted(os.listdir(out_dir)):
        print(f"{f}: {os.path.getsize(os.path.join(out_dir, f)) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
