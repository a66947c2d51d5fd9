"""Writes java-api/src/test/resources/fixtures/intermediate.safetensors: the official linear-probe
features (get_intermediate_layers, eval_linear.py's avgpool_patchtokens 0/1/2) of the weights and
images of the `defaults` fixture, which IntermediateFeaturesTest compares with ibot4j's.

    python tools/reference/make_feature_fixture.py

Outputs, for the teacher on the 32 px global crops and the student on the 16 px local crops (grid
4x4, so the positional embeddings are interpolated), with n the number of last blocks:
  expected.<net>.cls<n>          [images, n*D]  CLS of the last n blocks, normed, concatenated
  expected.<net>.patch_mean      [images, D]    mean of the last block's normed patch tokens (avgpool 2)
  expected.<net>.patch_mean_raw  [images, D]    the same without the norm: the official avgpool 1 builds
                                                the model with use_mean_pooling, whose norm is an identity
"""

import dataclasses
import json
import os
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, build_student, build_teacher  # noqa: E402
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def load_backbone(net, tensors, prefix):
    prefix += ".backbone."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    net.backbone.load_state_dict(state, strict=True)
    net.eval()


def features(backbone, images, depth):
    out = {}
    with torch.no_grad():
        for n in range(1, depth + 1):
            layers = backbone.get_intermediate_layers(images, n)
            out[f"cls{n}"] = torch.cat([x[:, 0] for x in layers], dim=-1)
        layers = backbone.get_intermediate_layers(images, 1)
        out["patch_mean"] = torch.mean(layers[-1][:, 1:], dim=1)
        # avgpool 1: the last block's output without the final norm
        x = backbone.prepare_tokens(images)
        for blk in backbone.blocks:
            x = blk(x)
        out["patch_mean_raw"] = torch.mean(x[:, 1:], dim=1)
    return out


def main():
    torch.set_num_threads(1)
    source = os.path.join(DEFAULT_OUT, "defaults.safetensors")
    tensors = load_file(source)
    with safe_open(source, "pt") as f:
        cfg = IBOTConfig(**json.loads(f.metadata()["config"]))
    student = build_student(cfg)
    teacher = build_teacher(cfg, student)
    load_backbone(student, tensors, "student")
    load_backbone(teacher, tensors, "teacher")
    out = {}
    for name, net, images in (("teacher", teacher, tensors["input.global"]), ("student", student, tensors["input.local"])):
        for key, value in features(net.backbone, images, cfg.depth).items():
            out[f"expected.{name}.{key}"] = value.contiguous()
    metadata = {
        "source": "defaults.safetensors (weights student.*/teacher.*, images input.global/input.local)",
        "config": json.dumps(dataclasses.asdict(cfg)),
        "generator": f"tools/reference/make_feature_fixture.py, torch {torch.__version__}",
    }
    path = os.path.join(DEFAULT_OUT, "intermediate.safetensors")
    write_safetensors(path, out, metadata)
    for k, v in sorted(out.items()):
        print(f"{k}: {list(v.shape)} mean |x| {v.abs().mean():.4f}")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
