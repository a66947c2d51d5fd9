"""Independent check of `ibot4j eval-linear` on the same frozen features.

    ibot4j eval-linear --checkpoint RUN --data fashion-mnist ... --save_features feats.safetensors
    python tools/reference/linear_probe_check.py feats.safetensors [--epochs 100 --batch_size 256 --lr 0.001 0.01 0.1 1]

Reads the features and labels ibot4j wrote (train_features [N, F], train_labels [N], val_features,
val_labels; the centred views, i.e. the frozen-features mode) and reports validation top-1 from
  1. scikit-learn's LogisticRegression (multinomial, L-BFGS to convergence), for a few values of C
     (the inverse L2 strength; large C is the unregularised optimum), and
  2. PyTorch running the official recipe of eval_linear.py on those features: nn.Linear with
     N(0, 0.01^2) weights and zero bias, CrossEntropyLoss, SGD momentum 0.9, lr x batch/256,
     CosineAnnealingLR per epoch, shuffled mini-batches, validated every epoch, best over lrs and epochs.
Needs numpy, torch, safetensors and scikit-learn.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn as nn
from safetensors.numpy import load_file


def sklearn_top1(xtr, ytr, xva, yva, c):
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(C=c, max_iter=5000, tol=1e-6)
    clf.fit(xtr, ytr)
    return 100.0 * (clf.predict(xva) == yva).mean(), clf.n_iter_[0]


def torch_protocol(xtr, ytr, xva, yva, lrs, epochs, batch, weight_decay, seed):
    torch.manual_seed(seed)
    xtr, xva = torch.from_numpy(xtr), torch.from_numpy(xva)
    ytr, yva = torch.from_numpy(ytr).long(), torch.from_numpy(yva).long()
    classes = int(max(ytr.max(), yva.max())) + 1
    results = {}
    for lr in lrs:
        layer = nn.Linear(xtr.shape[1], classes)
        layer.weight.data.normal_(mean=0.0, std=0.01)
        layer.bias.data.zero_()
        opt = torch.optim.SGD(layer.parameters(), lr * batch / 256.0, momentum=0.9, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs, eta_min=0)
        best = (0.0, 0)
        for epoch in range(epochs):
            for idx in torch.randperm(len(xtr)).split(batch):
                loss = nn.CrossEntropyLoss()(layer(xtr[idx]), ytr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            sched.step()
            with torch.no_grad():
                top1 = 100.0 * (layer(xva).argmax(1) == yva).float().mean().item()
            if top1 >= best[0]:
                best = (top1, epoch + 1)
        results[lr] = best + (top1,)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch_size", type=int, default=256)
    ap.add_argument("--lr", type=float, nargs="+", default=[0.0001, 0.001, 0.01, 0.1, 1.0])
    ap.add_argument("--C", type=float, nargs="+", default=[0.1, 1.0, 100.0])
    ap.add_argument("--weight_decay", type=float, default=0.0,
                    help="SGD weight decay wd; sklearn is then also run at the same objective, C = 1 / (wd * N)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    f = load_file(args.features)
    xtr, xva = f["train_features"].astype(np.float32), f["val_features"].astype(np.float32)
    ytr, yva = f["train_labels"].astype(np.int64), f["val_labels"].astype(np.int64)
    print(f"{args.features}: {xtr.shape[0]} train / {xva.shape[0]} val, {xtr.shape[1]} features, "
          f"{int(max(ytr.max(), yva.max())) + 1} classes")
    cs = list(args.C)
    if args.weight_decay > 0:
        # SGD on mean loss + wd/2 |w|^2 and sklearn's C * sum(loss) + 1/2 |w|^2 share their minimum when C = 1 / (wd N)
        # (sklearn leaves the intercept unpenalised, SGD's weight decay does not).
        cs.append(1.0 / (args.weight_decay * len(xtr)))
    for c in cs:
        t = time.time()
        top1, iters = sklearn_top1(xtr, ytr, xva, yva, c)
        print(f"sklearn LogisticRegression C={c:g}: top-1 {top1:.2f} % ({iters} L-BFGS iterations, {time.time() - t:.1f} s)")
    t = time.time()
    res = torch_protocol(xtr, ytr, xva, yva, args.lr, args.epochs, args.batch_size, args.weight_decay, args.seed)
    for lr, (top1, epoch, last) in res.items():
        print(f"torch eval_linear recipe lr {lr:g}: best top-1 {top1:.2f} % (epoch {epoch}), last epoch {last:.2f} %")
    lr, (top1, epoch, _) = max(res.items(), key=lambda kv: kv[1][0])
    print(f"torch eval_linear recipe, best over lrs: top-1 {top1:.2f} % (lr {lr:g}, epoch {epoch}; "
          f"{args.epochs} epochs, batch {args.batch_size}, weight decay {args.weight_decay:g}; {time.time() - t:.1f} s)")


if __name__ == "__main__":
    main()
