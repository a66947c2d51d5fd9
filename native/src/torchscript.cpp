// TorchScript export of one backbone, made here by LibTorch (no Python): a torch::jit::Module whose
// parameters are the backbone's weights and whose methods are TorchScript source compiled by LibTorch.
// The source repeats vit.cpp's forward with the same ATen operations (conv2d, layer_norm, linear,
// scaled_dot_product_attention, gelu, upsample_bicubic2d with the official scale factors), so the module
// computes what the encoder computes, positions interpolated the official iBOT way (not timm's).
#include <torch/script.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common.h"
#include "encoder.h"

namespace ibot4j {

namespace {

constexpr const char* kBlockSource = R"JIT(
def forward(self, x):
    b = x.size(0)
    n = x.size(1)
    c = x.size(2)
    y = torch.layer_norm(x, [c], self.norm1_weight, self.norm1_bias, 1e-06)
    parts = torch.linear(y, self.qkv_weight, QKV_BIAS).reshape([b, n, 3, NUM_HEADS, c // NUM_HEADS]).permute([2, 0, 3, 1, 4])
    a = torch.scaled_dot_product_attention(parts[0], parts[1], parts[2])
    x = x + torch.linear(a.transpose(1, 2).reshape([b, n, c]), self.proj_weight, self.proj_bias)
    y = torch.layer_norm(x, [c], self.norm2_weight, self.norm2_bias, 1e-06)
    return x + torch.linear(torch.gelu(torch.linear(y, self.fc1_weight, self.fc1_bias)), self.fc2_weight, self.fc2_bias)
)JIT";

// As VisionTransformerImpl::interpolate_pos_encoding: +0.1 and scale factors, as official iBOT does.
constexpr const char* kPositionSource = R"JIT(
def interpolate_pos_encoding(self, grid_h: int, grid_w: int):
    n_ref = self.pos_embed.size(1) - 1
    if grid_h * grid_w == n_ref and grid_h == grid_w:
        return self.pos_embed
    dim = self.pos_embed.size(2)
    side = self.pos_side
    side_i = int(side)
    cls_pos = self.pos_embed.narrow(1, 0, 1)
    patch_pos = self.pos_embed.narrow(1, 1, n_ref).reshape([1, side_i, side_i, dim]).permute([0, 3, 1, 2])
    h0 = float(grid_h) + 0.1
    w0 = float(grid_w) + 0.1
    resized = torch.upsample_bicubic2d(patch_pos, None, False, [h0 / side, w0 / side])
    resized = resized.permute([0, 2, 3, 1]).reshape([1, -1, dim])
    return torch.cat([cls_pos, resized], 1)
)JIT";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

torch::Tensor weight(const std::map<std::string, torch::Tensor>& params, const std::string& name) {
  auto it = params.find(name);
  TORCH_CHECK(it != params.end(), "the backbone has no parameter ", name);
  // A copy on the CPU: the file must not depend on where the encoder runs.
  return it->second.detach().to(torch::kCPU, torch::kFloat32).clone();
}

}  // namespace

void save_torchscript(const VisionTransformerImpl& vit, const Config& c, const std::string& path) {
  require(c.family == IBOT4J_FAMILY_IBOT, "TorchScript export covers the official iBOT ViT only so far; this backbone is ",
          c.family == IBOT4J_FAMILY_DINOV2 ? "DINOv2" : "DINOv3",
          " (export its weights as safetensors or .pth, which timm loads, instead)");
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : vit.named_parameters()) params[item.key()] = item.value();
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module root(c10::QualifiedName("__torch__.ibot4j.VisionTransformer"), unit);
  root.register_parameter("cls_token", weight(params, "cls_token"), false);
  root.register_parameter("pos_embed", weight(params, "pos_embed"), false);
  root.register_parameter("patch_embed_weight", weight(params, "patch_embed.proj.weight"), false);
  root.register_parameter("patch_embed_bias", weight(params, "patch_embed.proj.bias"), false);
  root.register_parameter("norm_weight", weight(params, "norm.weight"), false);
  root.register_parameter("norm_bias", weight(params, "norm.bias"), false);
  // The grid side of pos_embed as an attribute, so the scale factors are the same doubles as vit.cpp's.
  root.register_attribute("pos_side", c10::FloatType::get(),
                          std::sqrt(static_cast<double>(params.at("pos_embed").size(1) - 1)));

  const std::string block_source = replaced(replaced(kBlockSource, "NUM_HEADS", std::to_string(c.num_heads)),
                                            "QKV_BIAS", c.qkv_bias != 0 ? "self.qkv_bias" : "None");
  std::ostringstream blocks;
  for (int64_t i = 0; i < c.depth; ++i) {
    const std::string prefix = "blocks." + std::to_string(i) + ".";
    torch::jit::Module block(c10::QualifiedName("__torch__.ibot4j.Block" + std::to_string(i)), unit);
    for (const char* name : {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight", "attn.proj.bias",
                             "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight",
                             "mlp.fc2.bias"}) {
      std::string short_name = replaced(replaced(replaced(name, "attn.", ""), "mlp.", ""), ".", "_");
      block.register_parameter(short_name, weight(params, prefix + name), false);
    }
    if (c.qkv_bias != 0) block.register_parameter("qkv_bias", weight(params, prefix + "attn.qkv.bias"), false);
    block.define(block_source);
    root.register_module("block" + std::to_string(i), block);
    blocks << "    x = self.block" << i << ".forward(x)\n";
  }
  root.define(kPositionSource);
  const std::string p = std::to_string(c.patch_size);
  root.define(
      "def forward(self, x):\n"
      "    x = torch.conv2d(x, self.patch_embed_weight, self.patch_embed_bias, [" + p + ", " + p + "])\n"
      "    n = x.size(0)\n"
      "    grid_h = x.size(2)\n"
      "    grid_w = x.size(3)\n"
      "    x = torch.cat([self.cls_token.expand([n, -1, -1]), x.flatten(2).transpose(1, 2)], 1)\n"
      "    x = x + self.interpolate_pos_encoding(grid_h, grid_w)\n" +
      blocks.str() +
      "    x = torch.layer_norm(x, [x.size(2)], self.norm_weight, self.norm_bias, 1e-06)\n"
      "    return x.select(1, 0)\n");
  torch::jit::ExtraFilesMap extra{{"ibot4j.txt", "ibot4j backbone, CLS features after the final norm\narchitecture: " +
                                                      architecture_fingerprint(c) + "\nwritten by LibTorch " +
                                                      TORCH_VERSION + "\n"}};
  // Serialised in memory first: LibTorch's file writer throws from its destructor when a write fails
  // (see checkpoint.cpp), so the file itself is written here with every error checked.
  std::ostringstream bytes;
  root.save(bytes, extra);
  const std::string data = bytes.str();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw IoError("cannot write TorchScript file '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(data.data(), 1, data.size(), file) == data.size();
  ok = std::fflush(file) == 0 && ok;
  const int error = errno;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) throw IoError("cannot write TorchScript file '" + path + "': " + std::strerror(error != 0 ? error : EIO));
}

torch::Tensor run_torchscript(const std::string& path, const torch::Tensor& images) {
  torch::jit::Module module;
  try {
    module = torch::jit::load(path);
  } catch (const c10::Error& e) {
    throw IoError("cannot load TorchScript file '" + path + "': " + e.what_without_backtrace());
  }
  module.eval();
  c10::InferenceMode inference;
  auto result = module.forward({images});
  require(result.isTensor(), "the TorchScript module's forward did not return a tensor");
  return result.toTensor();
}

}  // namespace ibot4j
