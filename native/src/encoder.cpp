#include "encoder.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "autocast.h"
#include "common.h"

namespace ibot4j {

namespace {
// Parameters of the modules autocast runs in bf16 (linear layers, convolutions), by their full name.
std::vector<std::string> matrix_product_parameters(VisionTransformerImpl& vit) {
  std::vector<std::string> out;
  for (const auto& item : vit.named_modules()) {
    const auto& module = item.value();
    if (module->as<torch::nn::LinearImpl>() == nullptr && module->as<torch::nn::Conv2dImpl>() == nullptr) continue;
    for (const auto& p : module->named_parameters(/*recurse=*/false)) out.push_back(item.key() + "." + p.key());
  }
  return out;
}

void freeze(VisionTransformerImpl& vit, const torch::Device& device) {
  vit.eval();
  for (auto& p : vit.parameters()) p.set_requires_grad(false);
  vit.to(device);
}
}  // namespace

Encoder::Encoder(const Config& c) : config_((validate(c), c)), device_(device_of(c)) {
  // The teacher's layout: no mask token and no stochastic depth; the weights come from load or write.
  backbone_ = VisionTransformer(c, /*student=*/false);
  freeze(*backbone_, device_);
  for (const auto& item : backbone_->named_parameters()) {
    named_[item.key()] = item.value();
    names_.push_back(item.key());
  }
  if (c.bf16_autocast == 0) {
    compute_ = backbone_;
    return;
  }
  compute_ = VisionTransformer(c, /*student=*/false);
  freeze(*compute_, device_);
  torch::NoGradGuard no_grad;
  for (const auto& name : matrix_product_parameters(*compute_)) {
    auto p = compute_->named_parameters()[name];
    p.set_data(p.to(at::kBFloat16));
  }
  for (const auto& item : compute_->named_parameters()) compute_named_[item.key()] = item.value();
  refresh_compute();
}

void Encoder::refresh_compute(const std::string& name) {
  if (compute_named_.empty()) return;
  torch::NoGradGuard no_grad;
  compute_named_.at(name).copy_(named_.at(name));  // to bf16 with autocast's rounding (nearest even)
}

void Encoder::refresh_compute() {
  for (const auto& name : names_) refresh_compute(name);
}

torch::Tensor Encoder::forward(const torch::Tensor& images) const {
  // No autograd records and no version counters: nothing is written that another thread could see.
  c10::InferenceMode inference;
  check_images(config_, images);
  AutocastScope autocast(config_.bf16_autocast != 0, device_.type());
  return compute_->forward(images.to(device_), std::nullopt, nullptr);
}

torch::Tensor Encoder::forward_cls(const torch::Tensor& images) const {
  c10::InferenceMode inference;
  check_images(config_, images);
  AutocastScope autocast(config_.bf16_autocast != 0, device_.type());
  return compute_->forward_cls(images.to(device_));
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
  refresh_compute();
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
  refresh_compute(name);
}

void Encoder::export_torchscript(const std::string& path) const { save_torchscript(*backbone_, config_, path); }

}  // namespace ibot4j
