"""Checks ibot4j's TorchScript export (made by LibTorch in C++, no Python) the way a PyTorch user loads it.

    python tools/reference/check_torchscript.py [DIR]   (default java-api/target/interop/torchscript, written by TorchScriptExportTest)

1. torch.jit.load(backbone.pt) must load it;
2. at the training size, its forward(x) must equal timm's VisionTransformer with the weights of the
   `export --format pth` file (teacher.pth, strict load), CLS after the final norm, within 1e-5
   (max |diff| over max |feature|);
3. at another size (positions interpolated the official iBOT way), it must equal the Encoder's features
   that the Java test wrote (within 1e-5).
Exits non-zero on any failure.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_export import REPO, timm_vit  # noqa: E402


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "java-api", "target", "interop", "torchscript")
    module = torch.jit.load(os.path.join(folder, "backbone.pt"))
    module.eval()
    check = load_file(os.path.join(folder, "check.safetensors"))
    with open(os.path.join(folder, "check.safetensors"), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    cfg = json.loads(header["__metadata__"]["config"])
    timm = timm_vit(cfg)
    timm.load_state_dict(torch.load(os.path.join(folder, "teacher.pth"), weights_only=True), strict=True)
    failures = []
    with torch.inference_mode():
        x = check["images"]
        ours = module(x)
        err = rel(ours, timm.forward_features(x)[:, 0])
        print(f"torch.jit.load ok (torch {torch.__version__}); training size {tuple(x.shape[2:])}: "
              f"TorchScript vs timm (teacher.pth) max relative error {err:.2e}")
        if err > 1e-5:
            failures.append("TorchScript and timm differ at the training size")
        y = check["images_other"]
        ours = module(y)
        err = rel(ours, check["encoder_other"])
        print(f"size {tuple(y.shape[2:])}: TorchScript vs ibot4j Encoder max relative error {err:.2e}")
        if err > 1e-5:
            failures.append("TorchScript and the Encoder differ at another size")
    if failures:
        print("FAIL: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("torchscript check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
