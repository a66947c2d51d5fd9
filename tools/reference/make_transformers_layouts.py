"""DINOv2 and DINOv3 weight files as Hugging Face transformers writes them (model.safetensors of
facebook/dinov2-*, facebook/dinov2-with-registers-*, facebook/dinov3-vit*), from random-weight
transformers models (no download), and the tokens transformers computes with them.

    python tools/reference/make_transformers_layouts.py   (from the repository root; needs torch, transformers 5)

Writes java-api/src/test/resources/fixtures/layouts/:
  hf_dinov2.safetensors            Dinov2Model (small), transformers 5's names (attention.q_proj, ..., layernorm)
  hf_dinov2.legacy.safetensors     the same weights under the names of the files on the hub, written by
                                   transformers 4 (attention.attention.query, attention.output.dense), the inverse
                                   of transformers 5's own conversion_mapping for Dinov2Model
  hf_dinov2_swiglu.safetensors     Dinov2Model with the SwiGLU MLP of the giant model (gate_proj, up_proj, down_proj),
  hf_dinov2_swiglu.legacy.safetensors  and under transformers 4's names (mlp.weights_in, mlp.weights_out)
  hf_dinov2_reg4.safetensors       Dinov2WithRegistersModel (small, 4 registers)
  hf_dinov3.safetensors            DINOv3ViTModel (small, 4 register tokens, q/v biases), transformers 5's names
                                   (model.layer.N)
  hf_dinov3.legacy.safetensors     the same under the hub's names (layer.N), the inverse of conversion_mapping's
                                   dinov3_vit rule
  hf_dinov3_swiglu.safetensors     DINOv3ViTModel with the gated MLP (gate_proj, up_proj, down_proj) and SiLU, as the
                                   published S+ / H+ configs have it
and expected_transformers.safetensors: per model (hf_dinov2, ...; a .legacy file holds its model's weights), images and transformers' CLS / patch tokens of
last_hidden_state (after the final norm; registers left out) at the model's own size.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import (DINOv3ViTConfig, DINOv3ViTModel, Dinov2Config, Dinov2Model, Dinov2WithRegistersConfig,
                          Dinov2WithRegistersModel)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import DEFAULT_OUT, write_safetensors  # noqa: E402

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2)


def randomise(model, gen):
    """Every parameter drawn again: LayerScale near 0.5, norms near 1, the rest N(0, 0.1) (tokens N(0, 0.5))."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lambda1" in name:
                p.copy_(0.5 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "token" in name or "position" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def legacy_dinov2(sd):
    out = {}
    for k, v in list(sd.items()):
        if ".mlp.gate_proj." in k:
            continue
        if ".mlp.up_proj." in k:
            # transformers 4's Dinov2SwiGLUFFN: one weights_in, the gate's rows first (conversion_mapping's Chunk)
            out[k.replace(".mlp.up_proj.", ".mlp.weights_in.")] = torch.cat([sd[k.replace(".up_proj.", ".gate_proj.")], v], 0)
            continue
        k = k.replace(".mlp.down_proj.", ".mlp.weights_out.")
        k = (k.replace("attention.q_proj", "attention.attention.query").replace("attention.k_proj", "attention.attention.key")
             .replace("attention.v_proj", "attention.attention.value").replace("attention.o_proj", "attention.output.dense"))
        out[k] = v
    return out


def legacy_dinov3(sd):
    return {(k[len("model."):] if k.startswith("model.layer.") else k): v for k, v in sd.items()}


def main():
    out_dir = os.path.join(DEFAULT_OUT, "layouts")
    os.makedirs(out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(11)
    models = {
        "hf_dinov2": (Dinov2Model(Dinov2Config(**SMALL, intermediate_size=64, image_size=56, patch_size=14)), 56, 0),
        "hf_dinov2_swiglu": (Dinov2Model(Dinov2Config(**SMALL, mlp_ratio=4, image_size=56, patch_size=14, use_swiglu_ffn=True)),
                             56, 0),
        "hf_dinov2_reg4": (Dinov2WithRegistersModel(Dinov2WithRegistersConfig(**SMALL, intermediate_size=64, image_size=56,
                                                                               patch_size=14, num_register_tokens=4)), 56, 4),
        "hf_dinov3": (DINOv3ViTModel(DINOv3ViTConfig(**SMALL, intermediate_size=64, image_size=64, patch_size=16,
                                                     num_register_tokens=4)), 64, 4),
        "hf_dinov3_swiglu": (DINOv3ViTModel(DINOv3ViTConfig(**SMALL, intermediate_size=40, image_size=64, patch_size=16,
                                                            num_register_tokens=4, use_gated_mlp=True,
                                                            hidden_act="silu")), 64, 4),
    }
    tensors, metadata = {}, {}
    for name, (m, size, registers) in models.items():
        m.eval()
        randomise(m, gen)
        sd = {k: v.contiguous() for k, v in m.state_dict().items()}
        files = {name + ".safetensors": sd}
        if name in ("hf_dinov2", "hf_dinov2_swiglu"):
            files[name + ".legacy.safetensors"] = legacy_dinov2(sd)
        if name == "hf_dinov3":
            files[name + ".legacy.safetensors"] = legacy_dinov3(sd)
        images = torch.randn(2, 3, size, size, generator=gen)
        with torch.no_grad():
            tokens = m(pixel_values=images).last_hidden_state
        for file, state in files.items():
            save_file(state, os.path.join(out_dir, file))
        tensors[name + ".images"] = images
        tensors[name + ".cls"] = tokens[:, 0].contiguous()
        tensors[name + ".patches"] = tokens[:, 1 + registers:].contiguous()
        metadata[name] = json.dumps({"family": "dinov3" if "dinov3" in name else "dinov2", "num_heads": 2,
                                     "registers": registers, "swiglu": name.endswith("swiglu")})
        print(f"{name}: {len(sd)} tensors, tokens {tuple(tokens.shape)}")
    write_safetensors(os.path.join(out_dir, "expected_transformers.safetensors"), tensors, metadata)


if __name__ == "__main__":
    main()
