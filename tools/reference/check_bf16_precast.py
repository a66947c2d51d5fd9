"""bf16 autocast over fp32 weights against the same module with its linear and convolution weights stored
in bf16 beforehand (what ibot4j's Encoder does with bf16 on): max |diff| of timm's ViT-S/16 and DINOv3
ViT-S/16 features, torch's own kernels. Prints 0.0 when storing the casts once changes nothing.

    python tools/reference/check_bf16_precast.py
"""
import sys; sys.path.insert(0, "tools/reference"); from check_export import import_timm; import_timm()
import torch, timm, copy
torch.manual_seed(0)
for name in ("vit_small_patch16_224", "vit_small_patch16_dinov3"):
    m = timm.create_model(name, pretrained=False, num_classes=0).eval()
    for p in m.parameters(): p.requires_grad_(False)
    x = torch.randn(4, 3, 224, 224)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        a = m.forward_features(x)
    m2 = copy.deepcopy(m)
    for mod in m2.modules():
        if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            mod.weight.data = mod.weight.data.to(torch.bfloat16)
            if mod.bias is not None: mod.bias.data = mod.bias.data.to(torch.bfloat16)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        b = m2.forward_features(x)
    print(name, "max |diff| autocast over fp32 vs pre-cast bf16 weights:", (a.float()-b.float()).abs().max().item())
