// TorchScript export of one backbone, made here by LibTorch (no Python): a torch::jit::Module whose
// parameters are the backbone's weights and whose methods are TorchScript source compiled by LibTorch.
// The source repeats vit.cpp's forward with the same ATen operations (conv2d, layer_norm, linear,
// scaled_dot_product_attention, gelu, upsample_bicubic2d with the official scale factors), so the module
// computes what the encoder computes, positions interpolated the official iBOT way (not timm's). DINOv2
// and DINOv3 backbones get their own source (LayerScale, registers, SwiGLU, timm's position resize or
// RoPE), written from the same forward.
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

namespace {

// DINOv2 / DINOv3 blocks (vit.cpp's BlockImpl with LayerScale, SwiGLU, RoPE on the patches after the
// NUM_PREFIX registers and [CLS]); sin and cos are empty for DINOv2.
constexpr const char* kFoundationBlockSource = R"JIT(
def forward(self, x, sin, cos):
    b = x.size(0)
    n = x.size(1)
    c = x.size(2)
    y = torch.layer_norm(x, [c], self.norm1_weight, self.norm1_bias, EPS)
    parts = torch.linear(y, self.qkv_weight, QKV_BIAS).reshape([b, n, 3, NUM_HEADS, c // NUM_HEADS]).permute([2, 0, 3, 1, 4])
    q = parts[0]
    k = parts[1]
    v = parts[2]
ROPE
    a = torch.scaled_dot_product_attention(q, k, v)
    a = torch.linear(a.transpose(1, 2).reshape([b, n, c]), self.proj_weight, self.proj_bias)
    x = x + GAMMA1
    y = torch.layer_norm(x, [c], self.norm2_weight, self.norm2_bias, EPS)
    m = MLP
    return x + GAMMA2
)JIT";

constexpr const char* kRopeLines = R"JIT(    qp = q.narrow(2, NUM_PREFIX, n - NUM_PREFIX)
    qh = qp.chunk(2, -1)
    q = torch.cat([q.narrow(2, 0, NUM_PREFIX), qp * cos + torch.cat([-qh[1], qh[0]], -1) * sin], 2)
    kp = k.narrow(2, NUM_PREFIX, n - NUM_PREFIX)
    kh = kp.chunk(2, -1)
    k = torch.cat([k.narrow(2, 0, NUM_PREFIX), kp * cos + torch.cat([-kh[1], kh[0]], -1) * sin], 2)
)JIT";

// As RopeImpl::embed: patch centres in [-1, 1] per axis, angles 2 pi c / period, rotate-half layout.
constexpr const char* kRopeSource = R"JIT(
def rope(self, grid_h: int, grid_w: int):
    hs = torch.arange(0.5, float(grid_h), 1.0) / float(grid_h)
    ws = torch.arange(0.5, float(grid_w), 1.0) / float(grid_w)
    g = torch.meshgrid([hs, ws], indexing="ij")
    coords = torch.stack([g[0], g[1]], -1).flatten(0, 1) * 2.0 - 1.0
    angles = (6.283185307179586 * coords.unsqueeze(-1)) / self.rope_periods.view([1, 1, -1])
    angles = angles.flatten(1).tile([2])
    return torch.sin(angles), torch.cos(angles)
)JIT";

// As VisionTransformerImpl::interpolate_pos_encoding for DINOv2: timm's resize (a target size, antialiased bicubic).
constexpr const char* kTimmPositionSource = R"JIT(
def resize_pos(self, grid_h: int, grid_w: int):
    if grid_h == GRID and grid_w == GRID:
        return self.pos_embed
    dim = self.pos_embed.size(2)
    patch_pos = self.pos_embed.narrow(1, PREFIX, GRID * GRID).reshape([1, GRID, GRID, dim]).permute([0, 3, 1, 2])
    resized = torch._upsample_bicubic2d_aa(patch_pos, [grid_h, grid_w], False, None, None)
    resized = resized.permute([0, 2, 3, 1]).reshape([1, -1, dim])
    if PREFIX == 0:
        return resized
    return torch.cat([self.pos_embed.narrow(1, 0, PREFIX), resized], 1)
)JIT";

void write_module(torch::jit::Module& root, const Config& c, const std::string& path);

// The root's forward: patch embedding, then `tokens` (the token sequence and its positions), the blocks, the final
// norm, and the CLS token.
std::string forward_source(const Config& c, const std::string& tokens, const std::string& blocks,
                           const std::string& eps) {
  const std::string p = std::to_string(c.patch_size);
  return "def forward(self, x):\n"
         "    x = torch.conv2d(x, self.patch_embed_weight, self.patch_embed_bias, [" +
         p + ", " + p +
         "])\n"
         "    n = x.size(0)\n"
         "    grid_h = x.size(2)\n"
         "    grid_w = x.size(3)\n" +
         tokens + blocks + "    x = torch.layer_norm(x, [x.size(2)], self.norm_weight, self.norm_bias, " + eps +
         ")\n"
         "    return x.select(1, 0)\n";
}

void save_foundation(const VisionTransformerImpl& vit, const Config& c, const std::string& path) {
  std::map<std::string, torch::Tensor> params;
  for (const auto& item : vit.named_parameters()) params[item.key()] = item.value();
  const bool dinov3 = c.family == IBOT4J_FAMILY_DINOV3;
  const std::string eps = dinov3 ? "1e-05" : "1e-06";
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module root(c10::QualifiedName("__torch__.ibot4j.VisionTransformer"), unit);
  root.register_parameter("cls_token", weight(params, "cls_token"), false);
  if (c.num_register_tokens > 0) root.register_parameter("reg_token", weight(params, "reg_token"), false);
  if (dinov3) {
    root.register_parameter("rope_periods", weight(params, "rope.periods"), false);
  } else {
    root.register_parameter("pos_embed", weight(params, "pos_embed"), false);
  }
  root.register_parameter("patch_embed_weight", weight(params, "patch_embed.proj.weight"), false);
  root.register_parameter("patch_embed_bias", weight(params, "patch_embed.proj.bias"), false);
  root.register_parameter("norm_weight", weight(params, "norm.weight"), false);
  root.register_parameter("norm_bias", weight(params, "norm.bias"), false);

  const bool split_bias = dinov3 && c.qkv_bias != 0;
  const std::string qkv_bias = split_bias ? "torch.cat([self.q_bias, torch.zeros_like(self.q_bias), self.v_bias])"
                                          : (c.qkv_bias != 0 ? "self.qkv_bias" : "None");
  const bool layer_scale = c.layer_scale_init != 0;
  std::string mlp =
      "torch.linear(torch.gelu(torch.linear(y, self.fc1_weight, self.fc1_bias)), self.fc2_weight, self.fc2_bias)";
  if (c.swiglu != 0 && dinov3) {
    mlp =
        "torch.linear(torch.silu(torch.linear(y, self.fc1_g_weight, self.fc1_g_bias)) * torch.linear(y, "
        "self.fc1_x_weight, "
        "self.fc1_x_bias), self.fc2_weight, self.fc2_bias)";
  } else if (c.swiglu != 0) {
    mlp = "torch.linear(self.glu(torch.linear(y, self.fc1_weight, self.fc1_bias)), self.fc2_weight, self.fc2_bias)";
  }
  std::string source = replaced(kFoundationBlockSource, "ROPE\n", dinov3 ? kRopeLines : "");
  source = replaced(replaced(source, "NUM_HEADS", std::to_string(c.num_heads)), "NUM_PREFIX",
                    std::to_string(1 + c.num_register_tokens));
  source = replaced(replaced(replaced(source, "QKV_BIAS", qkv_bias), "EPS", eps), "MLP", mlp);
  source = replaced(replaced(source, "GAMMA1", layer_scale ? "a * self.gamma_1" : "a"), "GAMMA2",
                    layer_scale ? "m * self.gamma_2" : "m");
  // DINOv2's packed SwiGLU: gate half first.
  if (c.swiglu != 0 && !dinov3)
    source += "\ndef glu(self, h):\n    parts = h.chunk(2, -1)\n    return torch.silu(parts[0]) * parts[1]\n";
  std::ostringstream blocks;
  for (int64_t i = 0; i < c.depth; ++i) {
    const std::string prefix = "blocks." + std::to_string(i) + ".";
    torch::jit::Module block(c10::QualifiedName("__torch__.ibot4j.Block" + std::to_string(i)), unit);
    for (const auto& [name, value] : params) {
      if (name.rfind(prefix, 0) != 0) continue;
      std::string short_name = name.substr(prefix.size());
      short_name = replaced(replaced(short_name, "ls1.gamma", "gamma_1"), "ls2.gamma", "gamma_2");
      short_name = replaced(replaced(replaced(short_name, "attn.", ""), "mlp.", ""), ".", "_");
      block.register_parameter(short_name, weight(params, name), false);
    }
    block.define(source);
    root.register_module("block" + std::to_string(i), block);
    blocks << "    x = self.block" << i << ".forward(x, sin, cos)\n";
  }
  const int64_t grid = c.img_size / c.patch_size;
  const int64_t pos_prefix = c.num_register_tokens > 0 ? 0 : 1;
  std::string tokens;
  if (dinov3) {
    root.define(kRopeSource);
    tokens =
        "    x = torch.cat([self.cls_token.expand([n, -1, -1]), self.reg_token.expand([n, -1, -1]), x], 1)\n"
        "    sin, cos = self.rope(grid_h, grid_w)\n";
  } else {
    root.define(
        replaced(replaced(kTimmPositionSource, "PREFIX", std::to_string(pos_prefix)), "GRID", std::to_string(grid)));
    tokens = c.num_register_tokens > 0
                 ? "    x = torch.cat([self.cls_token.expand([n, -1, -1]), self.reg_token.expand([n, -1, -1]), "
                   "x + self.resize_pos(grid_h, grid_w)], 1)\n"
                 : "    x = torch.cat([self.cls_token.expand([n, -1, -1]), x], 1) + self.resize_pos(grid_h, grid_w)\n";
    tokens += "    sin = torch.empty([0])\n    cos = torch.empty([0])\n";
  }
  root.define(forward_source(c, "    x = x.flatten(2).transpose(1, 2)\n" + tokens, blocks.str(), eps));
  write_module(root, c, path);
}

}  // namespace

void save_torchscript(const VisionTransformerImpl& vit, const Config& c, const std::string& path) {
  if (c.family != IBOT4J_FAMILY_IBOT) return save_foundation(vit, c, path);
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
    for (const char* name :
         {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.proj.weight", "attn.proj.bias", "norm2.weight",
          "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"}) {
      std::string short_name = replaced(replaced(replaced(name, "attn.", ""), "mlp.", ""), ".", "_");
      block.register_parameter(short_name, weight(params, prefix + name), false);
    }
    if (c.qkv_bias != 0) block.register_parameter("qkv_bias", weight(params, prefix + "attn.qkv.bias"), false);
    block.define(block_source);
    root.register_module("block" + std::to_string(i), block);
    blocks << "    x = self.block" << i << ".forward(x)\n";
  }
  root.define(kPositionSource);
  root.define(
      forward_source(c,
                     "    x = torch.cat([self.cls_token.expand([n, -1, -1]), x.flatten(2).transpose(1, 2)], 1)\n"
                     "    x = x + self.interpolate_pos_encoding(grid_h, grid_w)\n",
                     blocks.str(), "1e-06"));
  write_module(root, c, path);
}

namespace {
void write_module(torch::jit::Module& root, const Config& c, const std::string& path) {
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
}  // namespace

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
