"""Writes the fixture of DINOv3's Gram anchoring loss (docs/adaptation.md, `--gram_loss_weight`):

    python tools/reference/make_gram_fixture.py [--out DIR]

gram.safetensors: random patch features of a student and a Gram teacher, [n, N, D] each, and the loss with its
gradient with respect to the student's features, computed by the function below.

The function follows the semantics of facebookresearch/dinov3's GramLoss (dinov3/loss/gram_loss.py) with the
settings of its Gram-anchoring recipe (dinov3/configs/train/dinov3_vit7b16_gram_anchor.yaml): `normalized: true`
(each patch feature L2-normalised, F.normalize's eps), `img_level: true` (one N x N Gram matrix per image, not
one over the batch's patches), `remove_neg: false` and `remove_only_teacher_neg: false` (negative similarities
kept), features cast to fp32, and torch.nn.MSELoss's mean over every entry of every image's matrix. The teacher's
side carries no gradient (DINOv3 computes it under no_grad). Written here from that description, not copied.
The features are drawn so that about half of the similarities are negative, which a negative-removing variant
would treat differently. fp32, CPU, one thread, seeded.
"""

import argparse
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402

N_IMAGES, N_TOKENS, DIM = 3, 10, 8


def gram_anchoring_loss(student, teacher):
    """Mean squared difference of the per-image Gram matrices of the L2-normalised patch features."""
    with torch.no_grad():
        t = F.normalize(teacher.float(), dim=-1)
        target = t @ t.transpose(-1, -2)
    s = F.normalize(student.float(), dim=-1)
    return ((s @ s.transpose(-1, -2) - target) ** 2).mean()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(34)
    teacher = torch.randn(N_IMAGES, N_TOKENS, DIM, generator=g)
    # The student: the teacher moved by a third of its scale, so the loss is neither 0 nor saturated.
    student = (teacher + 0.35 * torch.randn(N_IMAGES, N_TOKENS, DIM, generator=g)).requires_grad_(True)
    loss = gram_anchoring_loss(student, teacher)
    loss.backward()
    sims = F.normalize(teacher, dim=-1) @ F.normalize(teacher, dim=-1).transpose(-1, -2)
    print(f"gram loss {loss.item():.8f}; negative teacher similarities {(sims < 0).float().mean().item():.2f}")
    write_safetensors(os.path.join(args.out, "gram.safetensors"), {
        "input.student": student.detach(), "input.teacher": teacher,
        "expected.loss": loss.detach().reshape(1), "expected.grad": student.grad,
    }, {"generator": f"tools/reference/make_gram_fixture.py, torch {torch.__version__}"})


if __name__ == "__main__":
    main()
