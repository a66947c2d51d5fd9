"""Writes the fixtures of DINOv2's opt-in remedies and of the collapse metrics (docs/collapse.md):

    python tools/reference/make_remedies_fixture.py [--out DIR]

- remedies.safetensors: the layout of make_fixtures.py's scenarios (ParityTest reads it the same way) for a
  run with DINOv2's Sinkhorn-Knopp teacher centering (`centering sinkhorn_knopp`) and KoLeo on the
  student's global [CLS] tokens (`koleo_loss_weight 0.1`), plus after.koleo_loss and expected.metrics.
- collapse-metrics.safetensors: the collapse metrics of the published.safetensors step (official
  centering), computed from that fixture's stored tensors: published.metrics.

DINOv2's functions are reproduced below as its code writes them (dinov2/loss/dino_clstoken_loss.py
sinkhorn_knopp_teacher, dinov2/loss/ibot_patch_loss.py, dinov2/loss/koleo_loss.py,
ssl_meta_arch.py's use of KoLeo), single process. fp32, CPU, one thread, seeded: a rerun with the same
PyTorch gives the same bytes.
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ibot_reference import (IBOTTrainer, StepResult, cancel_gradients_last_layer, clip_gradients,  # noqa: E402
                            ema_update, iBOTLoss)
from make_fixtures import COMMON, DEFAULT_OUT, SHAPE, make, write_safetensors  # noqa: E402

from safetensors.torch import load_file  # noqa: E402

KOLEO_LOSS_WEIGHT = 0.1
STEP = dict(lr=1e-3, weight_decay=0.04, teacher_momentum=0.99, teacher_temp=0.07, teacher_patch_temp=0.06,
            freeze_last_layer=False, clip_grad=0.3, **SHAPE)


# ---- DINOv2, as written there (single process: no all_reduce) -------------------------------------

@torch.no_grad()
def sinkhorn_knopp_teacher(teacher_output, teacher_temp, n_iterations=3):
    teacher_output = teacher_output.float()
    Q = torch.exp(teacher_output / teacher_temp).t()  # Q is K-by-B for consistency with notations from our paper
    B = Q.shape[1]  # number of samples to assign
    K = Q.shape[0]  # how many prototypes
    sum_Q = torch.sum(Q)
    Q /= sum_Q
    for _ in range(n_iterations):
        sum_of_rows = torch.sum(Q, dim=1, keepdim=True)
        Q /= sum_of_rows
        Q /= K
        Q /= torch.sum(Q, dim=0, keepdim=True)
        Q /= B
    Q *= B  # the columns must sum to 1 so that Q is an assignment
    return Q.t()


class KoLeoLoss(nn.Module):
    """Kozachenko-Leonenko entropic loss regularizer from Sablayrolles et al. - 2018 - Spreading vectors for similarity search"""

    def __init__(self):
        super().__init__()
        self.pdist = nn.PairwiseDistance(2, eps=1e-8)

    def pairwise_NNs_inner(self, x):
        dots = torch.mm(x, x.t())
        n = x.shape[0]
        dots.view(-1)[:: (n + 1)].fill_(-1)  # Trick to fill diagonal with -1
        _, I = torch.max(dots, dim=1)  # noqa: E741
        return I

    def forward(self, student_output, eps=1e-8):
        student_output = F.normalize(student_output, eps=eps, p=2, dim=-1)
        I = self.pairwise_NNs_inner(student_output)  # noqa: E741
        distances = self.pdist(student_output, student_output[I])  # BxD, BxD -> B
        return -torch.log(distances + eps).mean()


class SinkhornIBOTLoss(iBOTLoss):
    """iBOT's loss terms (pairs, per-image masked mean, normalisation) on DINOv2's Sinkhorn-Knopp targets:
    the [CLS] targets over all G*B global crops at once, the patch targets over the masked tokens only (as
    DINOv2's iBOTPatchLoss.sinkhorn_knopp_teacher does); no centre update (DINOv2 updates none with it)."""

    def teacher_targets(self, teacher_cls, teacher_patch, student_mask, temp, temp2):
        self.cls_targets = sinkhorn_knopp_teacher(teacher_cls, temp)
        masks = torch.cat(student_mask).flatten(1)  # [G*B, N]
        self.patch_targets = sinkhorn_knopp_teacher(teacher_patch[masks], temp2)  # [M, K']
        full = torch.zeros_like(teacher_patch)  # unmasked tokens weigh 0 in the patch term
        full[masks] = self.patch_targets
        return self.cls_targets, full

    def update_center(self, teacher_cls, teacher_patch):
        pass


class RemediesTrainer(IBOTTrainer):
    """IBOTTrainer.train_step with the Sinkhorn-Knopp loss and, as DINOv2's ssl_meta_arch, KoLeo summed over
    the global crops' chunks of the student's backbone [CLS] tokens (after the final norm), added to the loss."""

    def __init__(self, cfg, student, teacher, n_global, n_local, koleo_weight):
        super().__init__(cfg, student, teacher, n_global, n_local)
        self.loss_fn = SinkhornIBOTLoss(cfg, n_global, n_local)
        self.koleo_weight = koleo_weight
        self.koleo = KoLeoLoss()

    def train_step(self, batch, lr, wd, momentum, teacher_temp, teacher_patch_temp, freeze_last_layer, clip_grad):
        images_global, images_local, masks = batch
        masks = masks.bool()
        for i, group in enumerate(self.optimizer.param_groups):
            group["lr"] = lr
            if i == 0:
                group["weight_decay"] = wd
        with torch.no_grad():
            self.teacher_tokens, teacher_output = self.teacher(images_global)
        student_tokens, student_output = self.student(images_global, mask=masks)
        student_local_cls = self.student(images_local)[1][0]
        all_loss = self.loss_fn(student_output, teacher_output, student_local_cls, list(masks.chunk(self.n_global)),
                                teacher_temp, teacher_patch_temp)
        self.koleo_value = self.koleo_weight * sum(self.koleo(p) for p in student_tokens[:, 0].chunk(self.n_global))
        loss = all_loss["loss"] + self.koleo_value
        self.optimizer.zero_grad()
        loss.backward()
        names, norms, clipped = clip_gradients(self.student, clip_grad)
        if freeze_last_layer:
            cancel_gradients_last_layer(self.student)
        self.optimizer.step()
        ema_update(self.student, self.teacher, momentum)
        grad_norm = torch.stack(norms).pow(2).sum().sqrt().item()
        out = torch.stack([loss.detach(), all_loss["cls"].detach(), all_loss["patch"].detach()])
        return StepResult(out, grad_norm, clipped, {n: v.item() for n, v in zip(names, norms)})


# ---- the collapse metrics (docs/collapse.md) --------------------------------------------------------

def collapse_metrics(cls_targets, patch_targets, embeddings):
    """[mean entropy of the [CLS] targets, the same over (at most R evenly spaced) masked patch targets, prototypes that are some row's
    argmax, effective rank (RankMe: exp of the entropy of the singular values over their sum)], float64."""
    def entropy(p):
        return -torch.xlogy(p.double(), p.double()).sum(-1)
    top2 = cls_targets.topk(2, dim=1).values
    gap = ((top2[:, 0] - top2[:, 1]) / top2[:, 0]).min().item()
    # The step recomputes the logits (error ~1e-6, ~1.5e-5 in the exponent at temperature 0.07): a gap of 1e-4 is stable.
    assert gap > 1e-4, f"an argmax is nearly tied (relative gap {gap}): the prototype count would not be a stable check"
    m, r = patch_targets.shape[0], cls_targets.shape[0]
    if m > r:  # every s-th masked token, s = ceil(M / R), as native/src/collapse.cpp
        patch_targets = patch_targets[::-(-m // r)]
    s = torch.linalg.svdvals(embeddings.double())
    p = s / s.sum()
    return torch.tensor([entropy(cls_targets).mean().item(), entropy(patch_targets).mean().item(),
                         float(cls_targets.argmax(1).unique().numel()), math.exp(entropy(p).item())], dtype=torch.float64)


def published_metrics(out_dir):
    f = load_file(os.path.join(out_dir, "published.safetensors"))
    from safetensors import safe_open
    with safe_open(os.path.join(out_dir, "published.safetensors"), "pt") as h:
        step = json.loads(h.metadata()["step"])
    masks = f["input.masks"].bool().flatten(1)
    cls_t = F.softmax((f["expected.teacher_cls_logits"] - f["input.center"]) / step["teacher_temp"], dim=-1)
    patch_t = F.softmax((f["expected.teacher_patch_logits"] - f["input.center2"]) / step["teacher_patch_temp"], dim=-1)[masks]
    return collapse_metrics(cls_t, patch_t, f["expected.teacher_global_tokens"][:, 0])


def remedies_extra(out, trainer, loss_fn):
    """The tensors make_fixtures.make writes beyond its usual layout for this scenario."""
    out["expected.cls_targets"] = loss_fn.cls_targets
    out["expected.patch_targets"] = loss_fn.patch_targets
    out["after.koleo_loss"] = trainer.koleo_value.detach().reshape(1)
    metrics = collapse_metrics(trainer.loss_fn.cls_targets, trainer.loss_fn.patch_targets, trainer.teacher_tokens[:, 0])
    out["expected.metrics"] = metrics.float()
    ct = loss_fn.cls_targets
    k = ct.shape[1]
    print(f"  KoLeo = {trainer.koleo_value.item():.6f}; SK [CLS] targets: row sums {ct.sum(1).min().item():.6f}.."
          f"{ct.sum(1).max().item():.6f}, column sums x K / rows {(ct.sum(0) * k / ct.shape[0]).min().item():.4f}.."
          f"{(ct.sum(0) * k / ct.shape[0]).max().item():.4f}")
    print(f"  metrics (cls entropy, patch entropy, prototypes, effective rank) = {metrics.tolist()}; ln K = {math.log(k):.4f}")


REMEDIES = dict(
    seed=3,
    config=dict(COMMON, shared_head=True, shared_head_teacher=True, norm_last_layer=False),
    step=STEP,
    loss=SinkhornIBOTLoss,
    trainer=lambda cfg, s, t, g, l: RemediesTrainer(cfg, s, t, g, l, KOLEO_LOSS_WEIGHT),
    config_extra=dict(centering="sinkhorn_knopp", koleo_loss_weight=KOLEO_LOSS_WEIGHT),
    extra=remedies_extra,
    generator="tools/reference/make_remedies_fixture.py",
)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    make("remedies", REMEDIES, args.out)
    m = published_metrics(args.out)
    write_safetensors(os.path.join(args.out, "collapse-metrics.safetensors"), {"published.metrics": m.float()},
                      {"generator": f"tools/reference/make_remedies_fixture.py from published.safetensors, torch {torch.__version__}"})
    print(f"published metrics (cls entropy, patch entropy, prototypes, effective rank) = {m.tolist()}")


if __name__ == "__main__":
    main()
