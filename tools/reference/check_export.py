"""Checks ibot4j's exports the way a PyTorch user would use them.

    python tools/reference/check_export.py [DIR]   (default java-api/target/interop, written by InteropTest)

1. torch.load(teacher.pth, weights_only=True) (PyTorch's default since 2.6) must succeed;
2. both teacher.pth and teacher.safetensors must load into timm's VisionTransformer with strict=True;
3. timm's CLS features (forward_features, token 0) on check.safetensors' images must equal the
   features ibot4j's embed wrote there.
Exits non-zero on any failure.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file


def import_timm():
    """timm imports torchvision; the only local torchvision wheel is built for another torch and fails to
    import. The ViT never touches torchvision, so a stand-in module is enough when the real one fails."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError, or RuntimeError from a mismatched build
        import types

        class AnyAttribute(type):
            def __getattr__(cls, attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return AnyAttribute(attr, (), {})

        class Stand_in(types.ModuleType):
            def __getattr__(self, attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return AnyAttribute(attr, (), {"__init__": lambda self, *a, **k: None})

        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]

        class Finder:  # serves every torchvision.* import with a stand-in module
            @staticmethod
            def find_spec(fullname, path=None, target=None):
                if fullname == "torchvision" or fullname.startswith("torchvision."):
                    import importlib.machinery
                    return importlib.machinery.ModuleSpec(fullname, Loader(), is_package=True)
                return None

        class Loader:
            @staticmethod
            def create_module(spec):
                module = Stand_in(spec.name)
                module.__path__ = []
                return module

            @staticmethod
            def exec_module(module):
                pass

        sys.meta_path.insert(0, Finder())
    import timm
    return timm


timm = import_timm()

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def timm_vit(cfg):
    return timm.models.vision_transformer.VisionTransformer(
        img_size=cfg["img_size"], patch_size=cfg["patch_size"], in_chans=cfg["in_chans"], embed_dim=cfg["embed_dim"],
        depth=cfg["depth"], num_heads=cfg["num_heads"], mlp_ratio=cfg["mlp_ratio"], qkv_bias=cfg["qkv_bias"],
        num_classes=0).eval()


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "java-api", "target", "interop")
    check = load_file(os.path.join(folder, "check.safetensors"))
    with open(os.path.join(folder, "check.safetensors"), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    cfg = json.loads(header["__metadata__"]["config"])
    worst = 0.0
    for name, state in [("teacher.pth", torch.load(os.path.join(folder, "teacher.pth"), weights_only=True)),
                        ("teacher.safetensors", load_file(os.path.join(folder, "teacher.safetensors")))]:
        model = timm_vit(cfg)
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            cls = model.forward_features(check["images"])[:, 0]
        err = ((cls - check["teacher_cls"]).abs().max() / check["teacher_cls"].abs().max()).item()
        worst = max(worst, err)
        loaded = "torch.load(weights_only=True) ok" if name.endswith(".pth") else "safetensors load ok"
        print(f"{name}: {loaded}, timm strict load ok, {len(state)} tensors, "
              f"CLS features max relative error {err:.2e}")
    if worst > 1e-5:
        print("FAIL: features differ by more than 1e-5", file=sys.stderr)
        return 1
    print("export check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
