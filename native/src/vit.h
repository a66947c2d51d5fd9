// Vision Transformer backbone as in the official iBOT code (models/vision_transformer.py):
// pre-norm blocks, LayerNorm eps 1e-6, learnable mask token written over masked patch embeddings.
// The same class builds the DINOv2 and DINOv3 backbones as timm defines them (config field family):
// LayerScale, register / storage tokens, SwiGLU, timm's position resize (DINOv2) or RoPE (DINOv3),
// each module registered under timm's tensor names so that timm files map one to one.
#pragma once

#include <torch/torch.h>

#include <optional>

#include "config.h"
#include "rope.h"

namespace ibot4j {

class PatchEmbedImpl : public torch::nn::Module {
 public:
  PatchEmbedImpl(int64_t in_chans, int64_t embed_dim, int64_t patch_size);
  torch::Tensor forward(const torch::Tensor& x) { return proj->forward(x); }
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

// How attention is computed: LibTorch's fused scaled_dot_product_attention, or the official formula
// written out (two batched products and a softmax). Chosen by attention_path alone.
enum class AttentionPath { Fused, Explicit };
// `backward`: autograd will differentiate through it (the student), not only the forward (teacher, Encoder).
AttentionPath attention_path(const c10::Device& device, c10::ScalarType dtype, int64_t seq_len, bool backward);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const Config& c);
  // rope: undefined, or [2, N, head_dim] for the patch tokens after the first num_prefix.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope);
  // forward's output for the first token alone, [b, 1, c]: its query against every token's key and value.
  torch::Tensor forward_first(const torch::Tensor& x, const torch::Tensor& rope);
  // softmax(q k^T / sqrt(head_dim)) written out, for analysis: [b, heads, n, n] (forward may use the fused kernel).
  torch::Tensor probabilities(const torch::Tensor& x, const torch::Tensor& rope);
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
  // DINOv3 with qkv bias: query and value biases; the key's is fixed at zero (as in timm and Meta).
  torch::Tensor q_bias, v_bias;
  int64_t num_heads, num_prefix;

 private:
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv_heads(const torch::Tensor& x, const torch::Tensor& rope);
  torch::Tensor qkv_bias() const;
  // softmax(q k^T / sqrt(head_dim)) v for q [b, heads, m, d] and k, v [b, heads, n, d], as [b, m, heads * d].
  torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) const;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(const Config& c);
  torch::Tensor forward(const torch::Tensor& x);
  // GELU: fc1, fc2. DINOv2 SwiGLU (timm SwiGLUPacked): fc1 holds gate then value. DINOv3 SwiGLU: fc1_g, fc1_x.
  torch::nn::Linear fc1{nullptr}, fc1_g{nullptr}, fc1_x{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

// timm's LayerScale (DINOv2 names it blocks.<i>.ls1.gamma).
class LayerScaleImpl : public torch::nn::Module {
 public:
  explicit LayerScaleImpl(int64_t dim);
  torch::Tensor gamma;
};
TORCH_MODULE(LayerScale);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const Config& c, double drop_path);
  // `gen` non-null enables stochastic depth (student training only); rope as AttentionImpl::forward.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope, at::Generator* gen);
  // forward's output for the first token (the CLS) alone, [b, 1, D]; inference (no stochastic depth).
  torch::Tensor forward_first(const torch::Tensor& x, const torch::Tensor& rope);
  // The attention and MLP branches' LayerScale gammas, undefined without LayerScale.
  torch::Tensor gamma1() const;
  torch::Tensor gamma2() const;
  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
  LayerScale ls1{nullptr}, ls2{nullptr};  // DINOv2
  torch::Tensor gamma_1, gamma_2;         // DINOv3
  double drop_path;
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // The student has the mask token and stochastic depth; the teacher has neither.
  VisionTransformerImpl(const Config& c, bool student);
  // images [n, C, H, W]; masks (optional) bool [n, H/p, W/p]; returns normalised tokens [n, 1+N, D]:
  // CLS then the patches (registers take part in attention but are not returned).
  torch::Tensor forward(const torch::Tensor& images, const std::optional<torch::Tensor>& masks,
                        at::Generator* drop_path_gen);
  // forward's CLS token alone, [n, D], without computing the other tokens' outputs in the last block: what
  // the CLS depends on there is every token's key and value, and its own query, MLP and norm.
  torch::Tensor forward_cls(const torch::Tensor& images);
  // Patch embedding, mask tokens, CLS, registers and positions: the tokens [n, 1+R+N, D] the first block sees.
  torch::Tensor prepare_tokens(const torch::Tensor& images, const std::optional<torch::Tensor>& masks);
  // What every block takes besides the tokens for images of that size: RoPE's [2, N, head_dim], or undefined.
  torch::Tensor rope_for(const torch::Tensor& images) const;
  // Tokens [n, 1+R+N, D] without the R registers: [n, 1+N, D].
  torch::Tensor without_registers(const torch::Tensor& x) const;
  void init_weights(at::Generator& gen);
  torch::Tensor interpolate_pos_encoding(int64_t grid_h, int64_t grid_w);

  int64_t in_chans, patch_size, family, num_registers, grid;
  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token;
  torch::Tensor reg_token;     // [1, R, D] when R > 0 (timm's name for DINOv2 registers and DINOv3 storage tokens)
  torch::Tensor pos_embed;     // undefined for DINOv3
  torch::Tensor masked_embed;  // undefined for the teacher
  Rope rope{nullptr};          // DINOv3
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  double layer_scale_init;
};
TORCH_MODULE(VisionTransformer);

// The input checks every backbone call shares: images [n > 0, in_chans, H, W], at least one patch each way
// (DINOv2 and DINOv3: H and W multiples of the patch size, as timm requires).
void check_images(const Config& c, const torch::Tensor& images);

}  // namespace ibot4j
