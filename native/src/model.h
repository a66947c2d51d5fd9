// One iBOT training setup: student and EMA teacher (backbone + head), the loss with its centres,
// AdamW with iBOT's parameter groups, and the model's own random generator.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "head.h"
#include "loss.h"
#include "vit.h"

namespace ibot4j {

class NetworkImpl : public torch::nn::Module {
 public:
  NetworkImpl(const VitOptions& vit, const HeadOptions& head);
  VisionTransformer backbone{nullptr};
  IbotHead head{nullptr};
};
TORCH_MODULE(Network);

struct ModelOptions {
  VitOptions vit;
  HeadOptions head;
  bool shared_head_teacher = true;
  LossOptions loss;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t seed = 0;
  torch::Device device = torch::kCPU;
  bool bf16_autocast = false;
};

struct Batch {
  torch::Tensor global_crops;  // [B*G, C, H, W]
  torch::Tensor local_crops;   // [B*L, C, h, w] or undefined
  torch::Tensor masks;         // bool [B*G, H/p, W/p]
  int64_t batch_size = 0, n_global = 0, n_local = 0;
};

struct StepParams {
  double lr = 0, weight_decay = 0, teacher_momentum = 0.996, teacher_temp = 0.04, teacher_patch_temp = 0.04;
  bool freeze_last_layer = false;
  double clip_grad = 3.0;
};

struct StepResult {
  double loss = 0, cls_loss = 0, patch_loss = 0, grad_norm = 0;
  bool finite = true;
  int64_t step = 0;
};

class Model {
 public:
  explicit Model(const ModelOptions& options);

  StepResult train_step(const Batch& batch, const StepParams& params);
  // Backbone tokens [n, 1+N, D] of the student (is_teacher false) or teacher, no grad, no drop-path.
  torch::Tensor embed(bool is_teacher, const torch::Tensor& images, const std::optional<torch::Tensor>& masks);
  // CLS and patch logits of a head for tokens [n, T, D].
  std::pair<torch::Tensor, torch::Tensor> head_logits(bool is_teacher, const torch::Tensor& tokens);

  // Named state ("student.*", "teacher.*", "loss.center", "loss.center2") in a stable order; tensor()
  // also resolves "grad.student.*", the gradients the last step's optimiser used.
  std::vector<std::string> tensor_names() const;
  torch::Tensor tensor(const std::string& name);

  void save(const std::string& path, const std::string& metadata);
  void load(const std::string& path);
  static std::string read_metadata(const std::string& path);

  const ModelOptions& options() const { return options_; }
  torch::Device device() const { return options_.device; }
  IbotLoss& loss() { return loss_; }

 private:
  void build_optimizer();
  void copy_student_into_teacher();
  double clip_gradients(double clip);
  void ema_update(double momentum);
  std::string fingerprint() const;

  ModelOptions options_;
  at::Generator gen_;
  Network student_{nullptr};
  Network teacher_{nullptr};
  IbotLoss loss_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<std::pair<std::string, torch::Tensor>> student_params_;  // trainable, optimiser order
  std::vector<torch::Tensor> last_layer_params_;
  std::vector<torch::Tensor> ema_teacher_, ema_student_;
  std::map<std::string, torch::Tensor> named_;
  std::vector<std::string> names_;
  int64_t step_ = 0;
};

}  // namespace ibot4j
