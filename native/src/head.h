// iBOT projection head (models/head.py): a 3-layer MLP shared by all tokens, L2 normalisation, then
// weight-normalised projections (CLS, and a separate patch projection unless shared).
#pragma once

#include <torch/torch.h>

#include "config.h"

namespace ibot4j {

// nn.utils.weight_norm(nn.Linear(in, out, bias=False)): W = g * v / ||v|| per output row.
class WeightNormLinearImpl : public torch::nn::Module {
 public:
  WeightNormLinearImpl(int64_t in_features, int64_t out_features, bool freeze_g);
  torch::Tensor forward(const torch::Tensor& x);
  void init_weights(at::Generator& gen);
  torch::Tensor weight_g;
  torch::Tensor weight_v;
};
TORCH_MODULE(WeightNormLinear);

class IbotHeadImpl : public torch::nn::Module {
 public:
  // shared: patch tokens go through the CLS projection (no last_layer2).
  IbotHeadImpl(const Config& c, bool shared);
  // MLP + L2 normalisation: the part every token goes through.
  torch::Tensor embed(const torch::Tensor& tokens);
  torch::Tensor cls_logits(const torch::Tensor& z) { return last_layer->forward(z); }
  torch::Tensor patch_logits(const torch::Tensor& z) {
    return last_layer2.is_empty() ? last_layer->forward(z) : last_layer2->forward(z);
  }
  void init_weights(at::Generator& gen);

  torch::nn::Sequential mlp{nullptr};
  WeightNormLinear last_layer{nullptr};
  WeightNormLinear last_layer2{nullptr};  // empty when shared
};
TORCH_MODULE(IbotHead);

}  // namespace ibot4j
