// DINOv3's rotary position embedding: the angles of a patch grid and their application to queries and keys.
#pragma once

#include <torch/torch.h>

namespace ibot4j {

// DINOv3's rotary embedding as timm's RotaryEmbeddingDinoV3 (and Meta's RopePositionEmbedding): per
// head dimension pair an angle 2 pi c / period of the patch centre's coordinate c in [-1, 1] (rows and
// columns normalised separately), applied rotate-half style to the patch tokens' queries and keys.
// `periods` [head_dim/4] is a tensor of the model (never trained) so that a Meta checkpoint's own
// values, which it stores in bf16, are used as they are; created as timm computes them (fp32).
class RopeImpl : public torch::nn::Module {
 public:
  RopeImpl(int64_t head_dim, double temperature);
  // sin and cos stacked: [2, grid_h * grid_w, head_dim], fp32, on the periods' device.
  torch::Tensor embed(int64_t grid_h, int64_t grid_w) const;
  void reset_periods();
  torch::Tensor periods;
  int64_t head_dim;
  double temperature;
};
TORCH_MODULE(Rope);

// Rotates q and/or k [b, n, ..., head_dim] (tokens in dimension 1, as the qkv projection writes them) of the tokens
// after the first `prefix` by rope [2, n - prefix, head_dim].
torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& rope, int64_t prefix);

}  // namespace ibot4j
