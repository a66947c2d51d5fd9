#include "head.h"

#include "common.h"
#include "linear.h"

namespace ibot4j {

namespace F = torch::nn::functional;

WeightNormLinearImpl::WeightNormLinearImpl(int64_t in_features, int64_t out_features, bool freeze_g) {
  weight_g = register_parameter("weight_g", torch::ones({out_features, 1}), /*requires_grad=*/!freeze_g);
  weight_v = register_parameter("weight_v", torch::zeros({out_features, in_features}));
}

torch::Tensor WeightNormLinearImpl::forward(const torch::Tensor& x) {
  // As one matrix product over the tokens' rows. A token range (the teacher's patch tokens, narrowed out of its
  // [CLS] and patches) does not fold into a matrix without a copy, and at::matmul, when no gradient is needed,
  // then multiplies batch by batch against a copy of the weight per image: under bf16 on the CPU that copy of the
  // [out_dim, bottleneck] weight, one per crop, cost more than the product (ViT-S/16 step trace, 2026-12-07).
  // Copying the tokens instead moves out_dim / tokens-per-image times fewer bytes.
  auto weight = at::_weight_norm(weight_v, weight_g, 0);
  if (x.dim() <= 2) return F::linear(x, weight);
  auto sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  return F::linear(x.reshape({-1, x.size(-1)}), weight).view(sizes);
}

void WeightNormLinearImpl::init_weights(at::Generator& gen) {
  // The official last layer is created after the trunc-normal pass: default Linear init for v, g = 1.
  torch::NoGradGuard no_grad;
  default_uniform_(weight_v, weight_v.size(1), gen);
  weight_g.fill_(1.0);
}

IbotHeadImpl::IbotHeadImpl(const Config& o, bool shared) {
  mlp = register_module("mlp", torch::nn::Sequential(torch::nn::Linear(o.embed_dim, o.hidden_dim), torch::nn::GELU(),
                                                     torch::nn::Linear(o.hidden_dim, o.hidden_dim), torch::nn::GELU(),
                                                     torch::nn::Linear(o.hidden_dim, o.bottleneck_dim)));
  last_layer = register_module("last_layer", WeightNormLinear(o.bottleneck_dim, o.out_dim, o.norm_last_layer != 0));
  if (!shared) {
    last_layer2 =
        register_module("last_layer2", WeightNormLinear(o.bottleneck_dim, o.patch_out_dim, o.norm_last_layer != 0));
  }
}

torch::Tensor IbotHeadImpl::embed(const torch::Tensor& tokens) {
  // The Sequential's Linear layers through ibot4j::linear (the bias inside the product, see there).
  auto x = tokens;
  for (const auto& layer : mlp->children()) {
    const auto* lin = layer->as<torch::nn::Linear>();
    x = lin != nullptr ? linear(*lin, x) : layer->as<torch::nn::GELU>()->forward(x);
  }
  return F::normalize(x, F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
}

void IbotHeadImpl::init_weights(at::Generator& gen) {
  torch::NoGradGuard no_grad;
  for (auto& module : mlp->modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      trunc_normal_(linear->weight, 0.02, gen);
      linear->bias.zero_();
    }
  }
  last_layer->init_weights(gen);
  if (!last_layer2.is_empty()) last_layer2->init_weights(gen);
}

}  // namespace ibot4j
