// Looking inside a trained model: the attention maps of official visualize_attention.py. The fused
// attention kernel of the forward pass returns no probabilities, so the last block's are recomputed
// here with the explicit softmax of the official get_last_selfattention.
#include "model.h"

#include "common.h"

namespace ibot4j {

torch::Tensor Model::last_cls_attention(bool is_teacher, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  check_images(images);
  auto& backbone = (is_teacher ? teacher_ : student_)->backbone;
  const auto on_device = images.to(device_);
  auto x = backbone->prepare_tokens(on_device, std::nullopt);
  const auto rope = backbone->rope_for(on_device);
  const auto& blocks = *backbone->blocks;
  require(!blocks.is_empty(), "the backbone has no blocks, so no attention");
  const size_t last = blocks.size() - 1;
  for (size_t i = 0; i < last; ++i) x = blocks[i]->as<Block>()->forward(x, rope, nullptr);
  auto* block = blocks[last]->as<Block>();
  auto probabilities = block->attn->probabilities(block->norm1->forward(x), rope);  // [n, heads, 1+R+N, 1+R+N]
  // The [CLS] query's row over [CLS] and the patches: registers take attention but are not image positions.
  return backbone->without_registers(probabilities.select(2, 0).transpose(1, 2)).transpose(1, 2);
}

}  // namespace ibot4j
