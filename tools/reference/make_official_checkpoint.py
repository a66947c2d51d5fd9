"""Writes java-api/src/test/resources/fixtures/official_defaults.pth: the 'defaults' fixture's weights in
the layout the official main_ibot.py saves (torch.save of a dict with 'student' as a DDP state_dict
with 'module.' prefixes and the shared alias keys a state_dict lists, 'teacher', 'optimizer', 'epoch',
'args' as an argparse.Namespace, 'ibot_loss' with both centres, 'fp16_scaler'), so the Java importer
is tested on what torch.save really writes.

    python tools/reference/make_official_checkpoint.py
"""
import argparse
import os
import sys

import torch
from safetensors.torch import load_file

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(REPO, "java-api", "src", "test", "resources", "fixtures")


def main():
    t = load_file(os.path.join(FIXTURES, "defaults.safetensors"))
    student = {"module." + k[len("student."):]: v for k, v in t.items() if k.startswith("student.")}
    teacher = {k[len("teacher."):]: v for k, v in t.items() if k.startswith("teacher.")}
    # The teacher's head is shared: its state_dict lists the one projection under both names.
    for k in list(teacher):
        if k.startswith("head.last_layer."):
            teacher["head.last_layer2." + k[len("head.last_layer."):]] = teacher[k]
    args = argparse.Namespace(arch="vit_tiny", patch_size=4, out_dim=256, patch_out_dim=256, shared_head=False,
                              shared_head_teacher=True, norm_last_layer=True, momentum_teacher=0.996,
                              pred_ratio=[0.0, 0.3], pred_ratio_var=[0.0, 0.2], epochs=100, lr=5e-4)
    optimizer = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.zeros(3), "exp_avg_sq": torch.zeros(3)}},
                 "param_groups": [{"lr": 5e-4, "weight_decay": 0.04, "params": [0]}]}
    checkpoint = {"student": student, "teacher": teacher, "optimizer": optimizer, "epoch": 7, "args": args,
                  "ibot_loss": {"center": t["input.center"], "center2": t["input.center2"]}, "fp16_scaler": None}
    out = os.path.join(FIXTURES, "official_defaults.pth")
    torch.save(checkpoint, out)
    print(f"{out}: {os.path.getsize(out) / 1e6:.2f} MB, {len(student)} student and {len(teacher)} teacher tensors")


if __name__ == "__main__":
    sys.exit(main())
