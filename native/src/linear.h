// The ViT's linear layers, with the activation that follows fc1.
#pragma once

#include <torch/torch.h>

namespace ibot4j {

enum class PostOp { None, Gelu };

// y = post(x W^T + b). As PyTorch's nn.Linear computes it (at::linear) wherever autograd, autocast or fp32
// weights are in play: LibTorch's LinearImpl::forward adds the bias in a separate in-place add for inputs of
// more than two dims; under bf16 autocast that add mixes a bf16 product with the fp32 bias, so the product is
// copied to fp32 and back (two copies per call) and autocast never sees the bias; at::linear hands autocast
// the bias and fuses it into addmm. The bf16 Encoder (bf16 weights, inference mode, CPU with oneDNN bf16)
// goes through oneDNN's linear instead, which adds the bias, and applies GELU, on the product's output
// tiles: addmm first copies the broadcast bias into the whole output, and GELU would be one more pass.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                     PostOp post = PostOp::None);

inline torch::Tensor linear(const torch::nn::LinearImpl& layer, const torch::Tensor& x, PostOp post = PostOp::None) {
  return linear(x, layer.weight, layer.bias, post);
}

}  // namespace ibot4j
