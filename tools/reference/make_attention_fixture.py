"""Writes java-api/src/test/resources/fixtures/attention.safetensors: the official get_last_selfattention
of the reference, [CLS] query row only, for the weights of fixtures/published.safetensors.

    python tools/reference/make_attention_fixture.py [--out DIR]

The weights are read from the committed published.safetensors (not stored again); the test loads them
from there too. Cases (all fp32, CPU, one thread, seeded):
  - teacher on the published fixture's `input.global` (8 images, 32 px: the model's own grid);
  - student on its `input.local` (12 images, 16 px: interpolated positions);
  - teacher and student on `input.nonsquare` (2 images 24 x 40 px, stored here): interpolated
    positions on a grid that is taller than wide is not, which a transposed interpolation would show;
    the teacher's backbone tokens for them are stored too (`expected.teacher_nonsquare_tokens`).
Each `expected.*_attention` is attentions[:, :, 0, :], i.e. [n, heads, 1 + N]: the [CLS] query over
every token, [CLS] first (official visualize_attention.py then drops the [CLS] column).
"""

import argparse
import dataclasses
import json
import os
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import IBOTConfig, build_student, build_teacher  # noqa: E402
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402

from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

SEED = 7
NONSQUARE = (2, 3, 24, 40)  # [n, C, H, W]: a 6 x 10 patch grid at patch 4


def load_models(weights_path):
    with safe_open(weights_path, "pt") as f:
        cfg = IBOTConfig(**json.loads(f.metadata()["config"]))
    tensors = load_file(weights_path)
    student = build_student(cfg)
    teacher = build_teacher(cfg, student)
    for prefix, net in (("student", student), ("teacher", teacher)):
        # By parameter, as make_fixtures.py stored them (a shared head lists its projection once).
        params = dict(net.named_parameters())
        stored = {n[len(prefix) + 1:] for n in tensors if n.startswith(prefix + ".")}
        assert stored == set(params), (prefix, stored ^ set(params))
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(tensors[f"{prefix}.{n}"])
        net.eval()
    return cfg, student, teacher, tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--weights", default=os.path.join(DEFAULT_OUT, "published.safetensors"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg, student, teacher, tensors = load_models(args.weights)
    nonsquare = torch.randn(*NONSQUARE, generator=torch.Generator().manual_seed(SEED))

    out = {"input.nonsquare": nonsquare}
    with torch.no_grad():
        cases = {
            "teacher_global": (teacher, tensors["input.global"]),
            "student_local": (student, tensors["input.local"]),
            "teacher_nonsquare": (teacher, nonsquare),
            "student_nonsquare": (student, nonsquare),
        }
        for name, (net, images) in cases.items():
            attn = net.backbone.get_last_selfattention(images)
            n, heads, t, t2 = attn.shape
            assert t == t2 == 1 + (images.shape[2] // cfg.patch_size) * (images.shape[3] // cfg.patch_size)
            out[f"expected.{name}_attention"] = attn[:, :, 0, :].clone()
        out["expected.teacher_nonsquare_tokens"] = teacher.backbone(nonsquare)

    out = {k: v.detach().float().contiguous() for k, v in out.items()}
    metadata = {
        "config": json.dumps(dataclasses.asdict(cfg)),
        "weights": "published.safetensors",
        "generator": f"tools/reference/make_attention_fixture.py, torch {torch.__version__}, seed {SEED}",
    }
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "attention.safetensors")
    write_safetensors(path, out, metadata)
    back = load_file(path)
    assert set(back) == set(out) and all(torch.equal(back[k], out[k]) for k in out), "reload mismatch"
    print(f"{path} ({os.path.getsize(path) / 1e3:.1f} kB)")
    for k, v in sorted(out.items()):
        extra = ""
        if k.endswith("_attention"):
            extra = f", rows sum to 1 within {(v.sum(-1) - 1).abs().max().item():.1e}, max {v.max().item():.3f}"
        print(f"  {k}: {list(v.shape)}{extra}")


if __name__ == "__main__":
    main()
