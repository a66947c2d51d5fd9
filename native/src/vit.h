// Vision Transformer backbone as in the official iBOT code (models/vision_transformer.py):
// pre-norm blocks, LayerNorm eps 1e-6, learnable mask token written over masked patch embeddings.
#pragma once

#include <torch/torch.h>

#include <optional>

#include "config.h"

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
AttentionPath attention_path(const c10::Device& device, c10::ScalarType dtype, int64_t seq_len, int64_t head_dim);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t num_heads, bool qkv_bias);
  torch::Tensor forward(const torch::Tensor& x);
  // softmax(q k^T / sqrt(head_dim)) written out, for analysis: [b, heads, n, n] (forward may use the fused kernel).
  torch::Tensor probabilities(const torch::Tensor& x);
  torch::nn::Linear qkv{nullptr};
  torch::nn::Linear proj{nullptr};
  int64_t num_heads;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr};
  torch::nn::Linear fc2{nullptr};
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const Config& c, double drop_path);
  // `gen` non-null enables stochastic depth (student training only).
  torch::Tensor forward(const torch::Tensor& x, at::Generator* gen);
  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
  double drop_path;
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  // The student has the mask token and stochastic depth; the teacher has neither.
  VisionTransformerImpl(const Config& c, bool student);
  // images [n, C, H, W]; masks (optional) bool [n, H/p, W/p]; returns normalised tokens [n, 1+N, D].
  torch::Tensor forward(const torch::Tensor& images, const std::optional<torch::Tensor>& masks,
                        at::Generator* drop_path_gen);
  // Patch embedding, mask tokens, CLS and positions: the tokens [n, 1+N, D] the first block sees.
  torch::Tensor prepare_tokens(const torch::Tensor& images, const std::optional<torch::Tensor>& masks);
  void init_weights(at::Generator& gen);
  torch::Tensor interpolate_pos_encoding(int64_t grid_h, int64_t grid_w);

  int64_t in_chans, patch_size;
  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token;
  torch::Tensor pos_embed;
  torch::Tensor masked_embed;  // undefined for the teacher
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(VisionTransformer);

// The input checks every backbone call shares: images [n > 0, in_chans, H, W], at least one patch each way.
void check_images(const Config& c, const torch::Tensor& images);

}  // namespace ibot4j
