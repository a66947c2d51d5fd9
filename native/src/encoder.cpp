#include "encoder.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "autocast.h"
#include "common.h"

namespace ibot4j {

Encoder::Encoder(const Config& c) : config_((validate(c), c)), device_(device_of(c)) {
  // The teacher's layout: no mask token and no stochastic depth; the weights come from load or write.
  backbone_ = VisionTransformer(c, /*student=*/false);
  backbone_->eval();
  for (auto& p : backbone_->parameters()) p.set_requires_grad(false);
  backbone_->to(device_);
  for (const auto& item : backbone_->named_parameters()) {
    named_[item.key()] = item.value();
    names_.push_back(item.key());
  }
}

torch::Tensor Encoder::forward(const torch::Tensor& images) const {
  // No autograd records and no version counters: nothing is written that another thread could see.
  c10::InferenceMode inference;
  check_images(config_, images);
  AutocastScope autocast(config_.bf16_autocast != 0, device_.type());
  return backbone_->forward(images.to(device_), std::nullopt, nullptr);
}

void Encoder::load_checkpoint(const std::string& path, bool teacher) {
  auto loaded = read_checkpoint_tensors(path, config_, teacher ? "teacher.backbone." : "student.backbone.");
  for (const auto& name : names_) {
    auto it = loaded.find(name);
    require(it != loaded.end(), "checkpoint '", path, "' lacks the ", teacher ? "teacher" : "student", " tensor ",
            name);
    require(it->second.sizes() == named_.at(name).sizes(), "checkpoint tensor ", name, " has shape ",
            it->second.sizes(), ", the encoder has ", named_.at(name).sizes());
  }
  torch::NoGradGuard no_grad;
  for (const auto& name : names_) named_.at(name).copy_(loaded.at(name));
  loaded.clear();
#if defined(__GLIBC__)
  // LibTorch's reader held the whole checkpoint (both networks, heads, optimiser state); glibc keeps
  // such freed blocks in the process unless asked, which would leave the encoder as large as the model.
  malloc_trim(0);
#endif
}

void Encoder::write(const std::string& name, const torch::Tensor& value) {
  auto it = named_.find(name);
  require(it != named_.end(), "the encoder has no tensor '", name, "' (its tensors, timm's names: ", names_.front(),
          ", ..., ", names_.back(), ")");
  require(it->second.sizes() == value.sizes(), "tensor ", name, " has shape ", value.sizes(), ", the encoder's is ",
          it->second.sizes());
  torch::NoGradGuard no_grad;
  it->second.copy_(value);
}

void Encoder::export_torchscript(const std::string& path) const { save_torchscript(*backbone_, config_, path); }

}  // namespace ibot4j
