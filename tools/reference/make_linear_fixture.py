"""Writes trainer/src/test/resources/fixtures/linear_sgd.safetensors: eval_linear.py's classifier
training in PyTorch (nn.Linear, nn.CrossEntropyLoss, torch.optim.SGD with momentum 0.9,
CosineAnnealingLR stepped per epoch) for two learning rates on fixed features, which
LinearClassifiersTest replays with ibot4j's Java trainer.

    python tools/reference/make_linear_fixture.py

Tensors: features [N, F], labels [N] (float), init.weight [C, F], init.bias [C] (N(0, 0.01²), 0 as
eval_linear.py), then for each head h: after.<h>.weight, after.<h>.bias (after every step of
EPOCHS epochs of batches in order) and logits.<h> (of the features, after training).
Metadata: lrs, momentum, weight_decay, epochs, batch_size.
"""

import json
import os
import sys

import torch
import torch.nn as nn

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import write_safetensors  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "trainer", "src", "test", "resources", "fixtures", "linear_sgd.safetensors")
N, F, C = 40, 24, 6
LRS = [0.05, 0.8]  # a calm and a large rate (the large one overshoots, so momentum matters)
MOMENTUM, WEIGHT_DECAY, EPOCHS, BATCH = 0.9, 1e-3, 3, 16  # batches of 16, 16, 8: a short last batch


def main():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7)
    # Features like normed CLS tokens: O(1) values with a class-dependent offset.
    labels = torch.randint(0, C, (N,), generator=gen)
    centres = torch.randn(C, F, generator=gen)
    features = centres[labels] * 0.7 + torch.randn(N, F, generator=gen)
    init = nn.Linear(F, C)
    with torch.no_grad():
        init.weight.normal_(mean=0.0, std=0.01, generator=gen)
        init.bias.zero_()
    out = {"features": features, "labels": labels.float(), "init.weight": init.weight.detach().clone(),
           "init.bias": init.bias.detach().clone()}
    for h, lr in enumerate(LRS):
        layer = nn.Linear(F, C)
        layer.load_state_dict(init.state_dict())
        opt = torch.optim.SGD(layer.parameters(), lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS, eta_min=0)
        for _ in range(EPOCHS):
            for start in range(0, N, BATCH):
                loss = nn.CrossEntropyLoss()(layer(features[start:start + BATCH]), labels[start:start + BATCH])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
        out[f"after.{h}.weight"] = layer.weight.detach().clone()
        out[f"after.{h}.bias"] = layer.bias.detach().clone()
        with torch.no_grad():
            out[f"logits.{h}"] = layer(features)
        print(f"lr {lr}: final loss {loss.item():.4f}, |w| {layer.weight.norm():.4f}")
    metadata = {"lrs": json.dumps(LRS), "momentum": str(MOMENTUM), "weight_decay": str(WEIGHT_DECAY),
                "epochs": str(EPOCHS), "batch_size": str(BATCH),
                "generator": f"tools/reference/make_linear_fixture.py, torch {torch.__version__}"}
    write_safetensors(OUT, {k: v.contiguous() for k, v in out.items()}, metadata)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
