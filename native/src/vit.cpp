#include "vit.h"

#include <cmath>

#include "common.h"

namespace ibot4j {

namespace F = torch::nn::functional;

namespace {
torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6));
}

// Per-sample stochastic depth: keep a sample's residual with probability 1-p, scaled by 1/(1-p). The
// mask is drawn on the generator's device (no host round trip on CUDA) and carries the scale, so the
// residual is touched once.
torch::Tensor drop_path(const torch::Tensor& x, double p, at::Generator* gen) {
  if (gen == nullptr || p <= 0.0) return x;
  const double keep = 1.0 - p;
  auto keep_mask = torch::empty({x.size(0)}, torch::TensorOptions().dtype(torch::kFloat32).device(gen->device()))
                       .bernoulli_(keep, *gen)
                       .div_(keep);
  return x * keep_mask.to(x.device(), x.scalar_type()).view({x.size(0), 1, 1});
}
}  // namespace

PatchEmbedImpl::PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_chans, embed_dim, patch_size).stride(patch_size)));
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads, bool qkv_bias) : num_heads(heads) {
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(qkv_bias)));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

namespace {
// q, k, v [b, heads, n, head_dim] of the tokens x [b, n, c].
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> split_heads(const torch::Tensor& qkv_x, int64_t num_heads) {
  const auto b = qkv_x.size(0), n = qkv_x.size(1), c = qkv_x.size(2) / 3;
  auto parts = qkv_x.reshape({b, n, 3, num_heads, c / num_heads}).permute({2, 0, 3, 1, 4});
  return {parts[0], parts[1], parts[2]};
}
}  // namespace

torch::Tensor AttentionImpl::probabilities(const torch::Tensor& x) {
  auto [q, k, v] = split_heads(linear(*qkv, x), num_heads);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return (torch::matmul(q, k.transpose(-2, -1)) * scale).softmax(-1);
}

AttentionPath attention_path(const c10::Device& device, c10::ScalarType dtype, int64_t seq_len, int64_t head_dim) {
  // Measured with LibTorch 2.13 on an avx512_bf16 CPU at the tiny and demo shapes (65 and 17 tokens,
  // head dim 64 and 32; CPU time of forward + backward, docs/benchmarks.md). bf16: the flash kernel is
  // slow there, its backward most (4x its fp32 time); the official formula with bf16 batched products
  // and softmax costs a fifth as much at both lengths (forward alone: half). SDPA's math kernel (it
  // computes in fp32) and fp32 flash attention inside the bf16 step (with its casts) sit between the
  // two. fp32: the fused kernel wins at 65 tokens (48 vs 51 ms, 38 vs 49), the formula at 17 (21 vs 31,
  // 13 vs 17). Lengths not measured keep the fused kernel, as does CUDA, where the fused kernels win.
  if (!device.is_cpu()) return AttentionPath::Fused;
  if (dtype == at::kBFloat16 && seq_len <= 65) return AttentionPath::Explicit;
  if (dtype == at::kFloat && seq_len <= 17) return AttentionPath::Explicit;
  return AttentionPath::Fused;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const auto b = x.size(0), n = x.size(1), c = x.size(2);
  auto [q, k, v] = split_heads(linear(*qkv, x), num_heads);
  torch::Tensor out;
  if (attention_path(q.device(), q.scalar_type(), n, q.size(-1)) == AttentionPath::Explicit) {
    // The official formula as written (scale after the product), in q's dtype.
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    out = torch::matmul((torch::matmul(q, k.transpose(-2, -1)) * scale).softmax(-1), v);
  } else {
    // softmax(q k^T / sqrt(head_dim)) v, the official formula, through the fused kernel.
    out = at::scaled_dot_product_attention(q, k, v);
  }
  return linear(*proj, out.transpose(1, 2).reshape({b, n, c}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return linear(*fc2, torch::gelu(linear(*fc1, x))); }

BlockImpl::BlockImpl(const Config& o, double dp) : drop_path(dp) {
  norm1 = register_module("norm1", layer_norm(o.embed_dim));
  attn = register_module("attn", Attention(o.embed_dim, o.num_heads, o.qkv_bias));
  norm2 = register_module("norm2", layer_norm(o.embed_dim));
  mlp = register_module("mlp", Mlp(o.embed_dim, static_cast<int64_t>(o.embed_dim * o.mlp_ratio)));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, at::Generator* gen) {
  auto y = x + ibot4j::drop_path(attn->forward(norm1->forward(x)), drop_path, gen);
  return y + ibot4j::drop_path(mlp->forward(norm2->forward(y)), drop_path, gen);
}

VisionTransformerImpl::VisionTransformerImpl(const Config& o, bool student)
    : in_chans(o.in_chans), patch_size(o.patch_size) {
  const int64_t grid = o.img_size / o.patch_size;
  patch_embed = register_module("patch_embed", PatchEmbed(o.in_chans, o.embed_dim, o.patch_size));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, o.embed_dim}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, grid * grid + 1, o.embed_dim}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i) {
    // Linear decay rule: block i of d gets rate * i / (d - 1).
    const double rate = student ? o.drop_path_rate : 0.0;
    const double dp = o.depth > 1 ? rate * static_cast<double>(i) / static_cast<double>(o.depth - 1) : 0.0;
    blocks->push_back(Block(o, dp));
  }
  norm = register_module("norm", layer_norm(o.embed_dim));
  if (student) {
    // Created after the official init pass, hence zeros.
    masked_embed = register_parameter("masked_embed", torch::zeros({1, o.embed_dim}));
  }
}

void VisionTransformerImpl::init_weights(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  trunc_normal_(pos_embed, 0.02, gen);
  trunc_normal_(cls_token, 0.02, gen);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.02, gen);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
  // The conv keeps PyTorch's default init, drawn here from the model's own generator.
  auto& proj = patch_embed->proj;
  const int64_t fan_in = in_chans * patch_size * patch_size;
  default_uniform_(proj->weight, fan_in, gen);
  default_uniform_(proj->bias, fan_in, gen);
}

torch::Tensor VisionTransformerImpl::interpolate_pos_encoding(int64_t grid_h, int64_t grid_w) {
  const int64_t n_ref = pos_embed.size(1) - 1;
  if (grid_h * grid_w == n_ref && grid_h == grid_w) return pos_embed;
  const int64_t dim = pos_embed.size(2);
  const double side = std::sqrt(static_cast<double>(n_ref));
  const auto side_i = static_cast<int64_t>(side);
  auto cls_pos = pos_embed.narrow(1, 0, 1);
  auto patch_pos = pos_embed.narrow(1, 1, n_ref).reshape({1, side_i, side_i, dim}).permute({0, 3, 1, 2});
  // As official: +0.1 guards floor(), and scale factors, not a target size. The official names are
  // misleading (`B, nc, w, h = x.shape` makes its "w" the height), but its first spatial axis is
  // scaled by the height and the second by the width, which is what a non-square grid needs.
  const double h0 = static_cast<double>(grid_h) + 0.1;
  const double w0 = static_cast<double>(grid_w) + 0.1;
  auto resized = F::interpolate(patch_pos, F::InterpolateFuncOptions()
                                               .scale_factor(std::vector<double>{h0 / side, w0 / side})
                                               .mode(torch::kBicubic)
                                               .align_corners(false)
                                               .recompute_scale_factor(false));
  TORCH_CHECK(resized.size(2) == grid_h && resized.size(3) == grid_w,
              "positional embedding interpolation produced ", resized.sizes(), " for a ", grid_h, "x", grid_w,
              " grid");
  resized = resized.permute({0, 2, 3, 1}).reshape({1, -1, dim});
  return torch::cat({cls_pos, resized}, 1);
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, const std::optional<torch::Tensor>& masks,
                                             at::Generator* drop_path_gen) {
  auto x = prepare_tokens(images, masks);
  for (const auto& block : *blocks) x = block->as<Block>()->forward(x, drop_path_gen);
  return norm->forward(x);
}

torch::Tensor VisionTransformerImpl::prepare_tokens(const torch::Tensor& images,
                                                    const std::optional<torch::Tensor>& masks) {
  auto x = patch_embed->forward(images);  // [n, D, h, w]
  const int64_t n = x.size(0), dim = x.size(1), gh = x.size(2), gw = x.size(3);
  if (masks.has_value()) {
    require(masked_embed.defined(), "mask tokens need the student network (the teacher has no masked_embed)");
    require(masks->dim() == 3 && masks->size(0) == n && masks->size(1) == gh && masks->size(2) == gw,
            "masks must be [", n, ", ", gh, ", ", gw, "] for these images, got ", masks->sizes());
    // Masked positions are overwritten (not added to) before CLS and positions are added.
    auto token = masked_embed.to(x.scalar_type()).view({1, dim, 1, 1});
    x = torch::where(masks->unsqueeze(1), token, x);
  }
  x = x.flatten(2).transpose(1, 2);
  x = torch::cat({cls_token.expand({n, -1, -1}).to(x.scalar_type()), x}, 1);
  return x + interpolate_pos_encoding(gh, gw);
}

void check_images(const Config& c, const torch::Tensor& images) {
  require(images.dim() == 4 && images.size(0) > 0 && images.size(1) == c.in_chans && images.size(2) > 0 &&
              images.size(3) > 0,
          "images must be [n > 0, ", c.in_chans, ", H > 0, W > 0], got ", images.sizes());
  require(images.size(2) >= c.patch_size && images.size(3) >= c.patch_size, "images of ", images.size(2), "x",
          images.size(3), " pixels are smaller than one ", c.patch_size, "x", c.patch_size, " patch");
}

}  // namespace ibot4j
