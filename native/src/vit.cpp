#include "vit.h"

#include <cmath>

#include "common.h"
#include "linear.h"

namespace ibot4j {

namespace F = torch::nn::functional;

namespace {
// LayerNorm eps: 1e-6 in official iBOT and timm's DINOv2, 1e-5 in DINOv3.
torch::nn::LayerNorm layer_norm(int64_t dim, int64_t family) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(family == IBOT4J_FAMILY_DINOV3 ? 1e-5 : 1e-6));
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

AttentionImpl::AttentionImpl(const Config& c) : num_heads(c.num_heads), num_prefix(1 + c.num_register_tokens) {
  const int64_t dim = c.embed_dim;
  const bool fused_bias = c.qkv_bias != 0 && c.family != IBOT4J_FAMILY_DINOV3;
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, dim * 3).bias(fused_bias)));
  if (c.qkv_bias != 0 && c.family == IBOT4J_FAMILY_DINOV3) {
    q_bias = register_parameter("q_bias", torch::zeros({dim}));
    v_bias = register_parameter("v_bias", torch::zeros({dim}));
  }
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor AttentionImpl::qkv_bias() const {
  if (q_bias.defined()) return torch::cat({q_bias, torch::zeros_like(q_bias), v_bias});
  return qkv->bias;
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> AttentionImpl::qkv_heads(const torch::Tensor& x,
                                                                                 const torch::Tensor& rope) {
  const auto b = x.size(0), n = x.size(1), c = x.size(2);
  auto qkv_x = linear(x, qkv->weight, qkv_bias()).view({b, n, 3, num_heads, c / num_heads});
  // Each [b, heads, n, head_dim].
  auto heads = [](const torch::Tensor& t) { return t.permute({2, 0, 3, 1, 4}); };
  if (!rope.defined()) {
    auto parts = heads(qkv_x);
    return {parts[0], parts[1], parts[2]};
  }
  auto qk = heads(apply_rope(qkv_x.narrow(2, 0, 2), rope, num_prefix));
  return {qk[0], qk[1], heads(qkv_x.narrow(2, 2, 1))[0]};
}

torch::Tensor AttentionImpl::probabilities(const torch::Tensor& x, const torch::Tensor& rope) {
  auto [q, k, v] = qkv_heads(x, rope);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return (torch::matmul(q, k.transpose(-2, -1)) * scale).softmax(-1);
}

AttentionPath attention_path(const c10::Device& device, c10::ScalarType dtype, int64_t seq_len, bool backward) {
  // Measured with LibTorch 2.13 on avx512_bf16 CPUs (tools/attention_paths.py, CPU time, docs/benchmarks.md). bf16:
  // the flash kernel is slow there, its backward most; the official formula with bf16 batched products and softmax
  // costs a fifth as much at 17 and 65 tokens (forward alone: half), and half as much forward + backward at 197 and
  // 201 (ViT-S/16 and DINOv3 ViT-S/16 at 224 px: 9.1 vs 19.8 ms, 8.6 vs 20.5), where flash is level or ahead for
  // the forward alone (2.3 vs 2.8, 3.6 vs 3.2). SDPA's math kernel (it computes in fp32) and fp32 flash attention
  // inside the bf16 step (with its casts) sit between the two. fp32: the formula wins at 17 tokens (21 vs 31 and
  // 13 vs 17 ms) and at 37 (4.3 vs 6.9), the fused kernel at 65 (48 vs 51, 38 vs 49); the two are level at 197
  // (14.4 vs 14.6). Lengths not measured keep the fused kernel (the formula's memory grows with the square of the
  // length), as does CUDA, where the fused kernels win.
  if (!device.is_cpu()) return AttentionPath::Fused;
  if (dtype == at::kBFloat16 && (seq_len <= 65 || (backward && seq_len <= 201))) return AttentionPath::Explicit;
  if (dtype == at::kFloat && seq_len <= 37) return AttentionPath::Explicit;
  return AttentionPath::Fused;
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const {
  torch::Tensor out;
  const bool backward = torch::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
  if (attention_path(q.device(), q.scalar_type(), k.size(2), backward) == AttentionPath::Explicit) {
    // The official formula as written (scale after the product), in q's dtype.
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    out = torch::matmul((torch::matmul(q, k.transpose(-2, -1)) * scale).softmax(-1), v);
  } else {
    // softmax(q k^T / sqrt(head_dim)) v, the official formula, through the fused kernel.
    out = at::scaled_dot_product_attention(q, k, v);
  }
  return out.transpose(1, 2).reshape({q.size(0), q.size(2), q.size(1) * q.size(3)});
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& rope) {
  auto [q, k, v] = qkv_heads(x, rope);
  return linear(*proj, attend(q, k, v));
}

torch::Tensor AttentionImpl::forward_first(const torch::Tensor& x, const torch::Tensor& rope) {
  const auto b = x.size(0), n = x.size(1), c = x.size(2), d = c / num_heads;
  // The rows of the qkv projection are q's, then k's, then v's (timm's layout): the first token's query
  // from the first c rows, every token's key and value from the other 2c.
  const auto& weight = qkv->weight;
  const auto bias = qkv_bias();
  auto part = [&](int64_t start, int64_t length) { return bias.defined() ? bias.narrow(0, start, length) : bias; };
  // The first token's row copied out: products over a strided row view fold differently when the weight needs
  // a gradient (the training model) than when it does not (the Encoder), and the two would round apart.
  auto q = linear(x.narrow(1, 0, 1).contiguous(), weight.narrow(0, 0, c), part(0, c))
               .view({b, 1, num_heads, d})
               .transpose(1, 2);
  auto kv = linear(x, weight.narrow(0, c, 2 * c), part(c, 2 * c)).view({b, n, 2, num_heads, d});
  // The first token is a prefix token (CLS): RoPE leaves its query as it is and rotates the patches' keys.
  auto k = kv.narrow(2, 0, 1);
  if (rope.defined()) k = apply_rope(k, rope, num_prefix);
  k = k.select(2, 0).transpose(1, 2);
  auto v = kv.select(2, 1).transpose(1, 2);
  return linear(*proj, attend(q, k, v));
}

MlpImpl::MlpImpl(const Config& c) {
  const int64_t dim = c.embed_dim;
  int64_t hidden = static_cast<int64_t>(c.embed_dim * c.mlp_ratio);
  if (c.swiglu == 0) {
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  } else if (c.family == IBOT4J_FAMILY_DINOV2) {
    // timm's SwiGLUPacked (Meta's w12): one projection, gate half first; fc2 reads the other half's width.
    fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
    hidden /= 2;
  } else {
    hidden += (8 - hidden % 8) % 8;  // timm's swiglu_align_to=8
    fc1_g = register_module("fc1_g", torch::nn::Linear(dim, hidden));
    fc1_x = register_module("fc1_x", torch::nn::Linear(dim, hidden));
  }
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  torch::Tensor hidden;
  if (fc1_g) {
    hidden = torch::silu(linear(*fc1_g, x)) * linear(*fc1_x, x);
  } else if (fc1->weight.size(0) != fc2->weight.size(1)) {
    auto parts = linear(*fc1, x).chunk(2, -1);
    hidden = torch::silu(parts[0]) * parts[1];
  } else {
    hidden = linear(*fc1, x, PostOp::Gelu);
  }
  return linear(*fc2, hidden);
}

LayerScaleImpl::LayerScaleImpl(int64_t dim) { gamma = register_parameter("gamma", torch::zeros({dim})); }

BlockImpl::BlockImpl(const Config& o, double dp) : drop_path(dp) {
  norm1 = register_module("norm1", layer_norm(o.embed_dim, o.family));
  attn = register_module("attn", Attention(o));
  norm2 = register_module("norm2", layer_norm(o.embed_dim, o.family));
  mlp = register_module("mlp", Mlp(o));
  if (o.layer_scale_init != 0) {
    // Registered where timm lists them, so the state's order is timm's.
    if (o.family == IBOT4J_FAMILY_DINOV3) {
      gamma_1 = register_parameter("gamma_1", torch::zeros({o.embed_dim}));
      gamma_2 = register_parameter("gamma_2", torch::zeros({o.embed_dim}));
    } else {
      ls1 = register_module("ls1", LayerScale(o.embed_dim));
      ls2 = register_module("ls2", LayerScale(o.embed_dim));
    }
  }
}

torch::Tensor BlockImpl::gamma1() const { return ls1 ? ls1->gamma : gamma_1; }
torch::Tensor BlockImpl::gamma2() const { return ls2 ? ls2->gamma : gamma_2; }

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& rope, at::Generator* gen) {
  auto a = attn->forward(norm1->forward(x), rope);
  if (auto g = gamma1(); g.defined()) a = a * g;
  auto y = x + ibot4j::drop_path(a, drop_path, gen);
  auto m = mlp->forward(norm2->forward(y));
  if (auto g = gamma2(); g.defined()) m = m * g;
  return y + ibot4j::drop_path(m, drop_path, gen);
}

torch::Tensor BlockImpl::forward_first(const torch::Tensor& x, const torch::Tensor& rope) {
  auto a = attn->forward_first(norm1->forward(x), rope);
  if (auto g = gamma1(); g.defined()) a = a * g;
  auto y = x.narrow(1, 0, 1) + a;  // contiguous, as a is
  auto m = mlp->forward(norm2->forward(y));
  if (auto g = gamma2(); g.defined()) m = m * g;
  return y + m;
}

VisionTransformerImpl::VisionTransformerImpl(const Config& o, bool student)
    : in_chans(o.in_chans),
      patch_size(o.patch_size),
      family(o.family),
      num_registers(o.num_register_tokens),
      grid(o.img_size / o.patch_size),
      layer_scale_init(o.layer_scale_init) {
  patch_embed = register_module("patch_embed", PatchEmbed(o.in_chans, o.embed_dim, o.patch_size));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, o.embed_dim}));
  if (num_registers > 0) reg_token = register_parameter("reg_token", torch::zeros({1, num_registers, o.embed_dim}));
  if (family == IBOT4J_FAMILY_DINOV3) {
    rope = register_module("rope", Rope(o.embed_dim / o.num_heads, /*temperature=*/100.0));
  } else {
    // timm's DINOv2 with registers (no_embed_class): positions for the patches only.
    const int64_t prefix = num_registers > 0 ? 0 : 1;
    pos_embed = register_parameter("pos_embed", torch::zeros({1, grid * grid + prefix, o.embed_dim}));
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i) {
    // Linear decay rule: block i of d gets rate * i / (d - 1).
    const double rate = student ? o.drop_path_rate : 0.0;
    const double dp = o.depth > 1 ? rate * static_cast<double>(i) / static_cast<double>(o.depth - 1) : 0.0;
    blocks->push_back(Block(o, dp));
  }
  norm = register_module("norm", layer_norm(o.embed_dim, o.family));
  if (student) {
    // Created after the official init pass, hence zeros.
    masked_embed = register_parameter("masked_embed", torch::zeros({1, o.embed_dim}));
  }
}

void VisionTransformerImpl::init_weights(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  if (pos_embed.defined()) trunc_normal_(pos_embed, 0.02, gen);
  trunc_normal_(cls_token, 0.02, gen);
  if (reg_token.defined()) trunc_normal_(reg_token, 0.02, gen);
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.02, gen);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* ln = module->as<torch::nn::LayerNorm>()) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    } else if (auto* block = module->as<Block>()) {
      if (block->gamma1().defined()) {
        block->gamma1().fill_(layer_scale_init);
        block->gamma2().fill_(layer_scale_init);
      }
    }
  }
  // The conv keeps PyTorch's default init, drawn here from the model's own generator.
  auto& proj = patch_embed->proj;
  const int64_t fan_in = in_chans * patch_size * patch_size;
  default_uniform_(proj->weight, fan_in, gen);
  default_uniform_(proj->bias, fan_in, gen);
}

torch::Tensor VisionTransformerImpl::interpolate_pos_encoding(int64_t grid_h, int64_t grid_w) {
  if (family == IBOT4J_FAMILY_DINOV2) {
    // timm's resample_abs_pos_embed: a target size, bicubic with antialiasing, prefix positions kept.
    if (grid_h == grid && grid_w == grid) return pos_embed;
    const int64_t prefix = pos_embed.size(1) - grid * grid, dim = pos_embed.size(2);
    auto patch_pos = pos_embed.narrow(1, prefix, grid * grid).reshape({1, grid, grid, dim}).permute({0, 3, 1, 2});
    auto resized = F::interpolate(patch_pos.to(torch::kFloat32), F::InterpolateFuncOptions()
                                                                     .size(std::vector<int64_t>{grid_h, grid_w})
                                                                     .mode(torch::kBicubic)
                                                                     .align_corners(false)
                                                                     .antialias(true));
    resized = resized.permute({0, 2, 3, 1}).reshape({1, -1, dim}).to(pos_embed.scalar_type());
    return prefix > 0 ? torch::cat({pos_embed.narrow(1, 0, prefix), resized}, 1) : resized;
  }
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
  TORCH_CHECK(resized.size(2) == grid_h && resized.size(3) == grid_w, "positional embedding interpolation produced ",
              resized.sizes(), " for a ", grid_h, "x", grid_w, " grid");
  resized = resized.permute({0, 2, 3, 1}).reshape({1, -1, dim});
  return torch::cat({cls_pos, resized}, 1);
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images, const std::optional<torch::Tensor>& masks,
                                             at::Generator* drop_path_gen) {
  auto x = prepare_tokens(images, masks);
  const auto position = rope_for(images);
  for (const auto& block : *blocks) x = block->as<Block>()->forward(x, position, drop_path_gen);
  return norm->forward(without_registers(x));
}

torch::Tensor VisionTransformerImpl::forward_cls(const torch::Tensor& images) {
  auto x = prepare_tokens(images, std::nullopt);
  const auto position = rope_for(images);
  const auto last = static_cast<int64_t>(blocks->size()) - 1;
  for (int64_t i = 0; i < last; ++i) x = blocks[i]->as<Block>()->forward(x, position, nullptr);
  return norm->forward(blocks[last]->as<Block>()->forward_first(x, position).select(1, 0));
}

torch::Tensor VisionTransformerImpl::rope_for(const torch::Tensor& images) const {
  if (!rope) return {};
  return rope->embed(images.size(2) / patch_size, images.size(3) / patch_size);
}

torch::Tensor VisionTransformerImpl::without_registers(const torch::Tensor& x) const {
  if (num_registers == 0) return x;
  return torch::cat({x.narrow(1, 0, 1), x.narrow(1, 1 + num_registers, x.size(1) - 1 - num_registers)}, 1);
}

torch::Tensor VisionTransformerImpl::prepare_tokens(const torch::Tensor& images,
                                                    const std::optional<torch::Tensor>& masks) {
  auto x = patch_embed->forward(images);  // [n, D, h, w]
  const int64_t n = x.size(0), dim = x.size(1), gh = x.size(2), gw = x.size(3);
  if (masks.has_value()) {
    require(masked_embed.defined(), "mask tokens need the student network (the teacher has no masked_embed)");
    require(masks->dim() == 3 && masks->size(0) == n && masks->size(1) == gh && masks->size(2) == gw, "masks must be [",
            n, ", ", gh, ", ", gw, "] for these images, got ", masks->sizes());
    // Masked positions are overwritten (not added to) before CLS and positions are added.
    auto token = masked_embed.to(x.scalar_type()).view({1, dim, 1, 1});
    x = torch::where(masks->unsqueeze(1), token, x);
  }
  x = x.flatten(2).transpose(1, 2);
  auto cls = cls_token.expand({n, -1, -1}).to(x.scalar_type());
  if (family == IBOT4J_FAMILY_IBOT) return torch::cat({cls, x}, 1) + interpolate_pos_encoding(gh, gw);
  std::vector<torch::Tensor> parts{cls};
  if (num_registers > 0) parts.push_back(reg_token.expand({n, -1, -1}).to(x.scalar_type()));
  if (family == IBOT4J_FAMILY_DINOV2) {
    if (num_registers > 0) {
      // no_embed_class: the patches get their positions, CLS and registers none.
      x = x + interpolate_pos_encoding(gh, gw);
    } else {
      // CLS and patches first, then the positions of both (as the iBOT layout).
      return torch::cat({cls, x}, 1) + interpolate_pos_encoding(gh, gw);
    }
  }
  parts.push_back(x);
  return torch::cat(parts, 1);
}

void check_images(const Config& c, const torch::Tensor& images) {
  require(images.dim() == 4 && images.size(0) > 0 && images.size(1) == c.in_chans && images.size(2) > 0 &&
              images.size(3) > 0,
          "images must be [n > 0, ", c.in_chans, ", H > 0, W > 0], got ", images.sizes());
  require(images.size(2) >= c.patch_size && images.size(3) >= c.patch_size, "images of ", images.size(2), "x",
          images.size(3), " pixels are smaller than one ", c.patch_size, "x", c.patch_size, " patch");
  require(c.family == IBOT4J_FAMILY_IBOT || (images.size(2) % c.patch_size == 0 && images.size(3) % c.patch_size == 0),
          "images of ", images.size(2), "x", images.size(3), " pixels do not divide into ", c.patch_size, "x",
          c.patch_size, " patches; this backbone (as timm's) takes heights and widths that are multiples of ",
          c.patch_size);
}

}  // namespace ibot4j
