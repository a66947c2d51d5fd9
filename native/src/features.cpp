// Frozen features for evaluation, as the official get_intermediate_layers (models/vision_transformer.py):
// every one of the last n blocks' outputs goes through the final norm, which the linear probe reads.
#include <torch/torch.h>

#include "common.h"
#include "model.h"

namespace ibot4j {

std::pair<torch::Tensor, torch::Tensor> Model::intermediate_features(bool is_teacher, const torch::Tensor& images,
                                                                     int64_t n_last_blocks, bool patch_mean_normed) {
  torch::NoGradGuard no_grad;
  check_images(images);
  require(n_last_blocks >= 1 && n_last_blocks <= config_.depth, "n_last_blocks must be in 1..", config_.depth,
          " (the model's depth), got ", n_last_blocks);
  auto& vit = *(is_teacher ? teacher_ : student_)->backbone;
  const auto on_device = images.to(device_);
  auto x = vit.prepare_tokens(on_device, std::nullopt);
  const auto rope = vit.rope_for(on_device);
  const auto depth = static_cast<int64_t>(vit.blocks->size());
  std::vector<torch::Tensor> cls;
  for (int64_t i = 0; i < depth; ++i) {
    x = vit.blocks[i]->as<Block>()->forward(x, rope, nullptr);
    // LayerNorm is per token, so norm(x)[:, 0] is norm(x[:, 0]): only the CLS rows are normed here.
    if (depth - i <= n_last_blocks) cls.push_back(vit.norm->forward(x.select(1, 0)));
  }
  auto tokens = vit.without_registers(x);
  auto patches = tokens.narrow(1, 1, tokens.size(1) - 1);
  auto patch_mean = (patch_mean_normed ? vit.norm->forward(patches) : patches).mean(1);
  return {torch::cat(cls, 1), patch_mean};
}

}  // namespace ibot4j
