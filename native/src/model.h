// One iBOT training setup: student and EMA teacher (backbone + head), the loss with its centres,
// AdamW with iBOT's parameter groups, and the model's own random generator.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "comm.h"
#include "head.h"
#include "loss.h"
#include "optimizer.h"
#include "vit.h"

namespace ibot4j {

class NetworkImpl : public torch::nn::Module {
 public:
  NetworkImpl(const Config& c, bool student);
  VisionTransformer backbone{nullptr};
  IbotHead head{nullptr};
  // Feature distillation (distill_loss_weight > 0), the student only: its tokens to the teacher's width.
  torch::nn::Linear distill_proj{nullptr};
};
TORCH_MODULE(Network);

struct Batch {
  torch::Tensor global_crops;  // [B*G, C, H, W]
  torch::Tensor local_crops;   // [B*L, C, h, w] or undefined
  torch::Tensor masks;         // bool [B*G, H/p, W/p]
  int64_t batch_size = 0, n_global = 0, n_local = 0;
};

using StepParams = ibot4j_step_params;

// Head outputs for the loss alone, as the C API's ibot4j_loss passes them (see there for shapes).
struct LossArguments {
  torch::Tensor student_cls, student_patch, teacher_cls, teacher_patch, masks;
  int64_t batch_size = 0, n_global = 0, n_local = 0;
  double teacher_temp = 0, teacher_patch_temp = 0;
};

struct StepResult {
  double loss = 0, cls_loss = 0, patch_loss = 0, grad_norm = 0, koleo_loss = 0, gram_loss = 0, distill_loss = 0;
  bool finite = true;
  int64_t step = 0;
  // Collapse metrics (collapse.h), train_step only.
  double teacher_cls_entropy = 0, teacher_patch_entropy = 0, effective_rank = 0;
  int64_t prototypes_used = 0;
};

class Model {
 public:
  explicit Model(const Config& config);

  StepResult train_step(const Batch& batch, const StepParams& params);
  // The loss of given head outputs with the current centres (step and grad_norm are 0); with
  // update_center the centres then move as after a step.
  StepResult loss(const LossArguments& in, bool update_center);
  // Data-parallel from now on: rank 0's state is broadcast; steps average over the group.
  void join(std::shared_ptr<Communicator> comm);
  // Backbone tokens [n, 1+N, D] of the student (is_teacher false) or teacher, no grad, no drop-path.
  torch::Tensor embed(bool is_teacher, const torch::Tensor& images, const std::optional<torch::Tensor>& masks);
  // embed's CLS tokens alone, [n, D], unmasked: the last block computes only the CLS token's output.
  torch::Tensor embed_cls(bool is_teacher, const torch::Tensor& images);
  // Analysis (analysis.cpp): the last block's attention probabilities of the [CLS] query over every
  // token, [n, heads, 1+N], [CLS] first; the earlier blocks run as in embed (no grad, no drop-path).
  torch::Tensor last_cls_attention(bool is_teacher, const torch::Tensor& images);
  // Analysis (features.cpp), official get_intermediate_layers: the normed CLS tokens of the last
  // n_last_blocks blocks concatenated [n, n_last_blocks * D], and the mean of the last block's patch
  // tokens [n, D], through the final norm when patch_mean_normed; no grad, no drop-path, no mask.
  std::pair<torch::Tensor, torch::Tensor> intermediate_features(bool is_teacher, const torch::Tensor& images,
                                                                int64_t n_last_blocks, bool patch_mean_normed);
  // CLS and patch logits of a head for tokens [n, T, D].
  std::pair<torch::Tensor, torch::Tensor> head_logits(bool is_teacher, const torch::Tensor& tokens);

  // Named state ("student.*", "teacher.*", "loss.center", "loss.center2", and "gram.*" with Gram anchoring) in a
  // stable order; tensor()
  // also resolves "grad.student.*", the gradients the last step's optimiser used.
  std::vector<std::string> tensor_names() const;
  torch::Tensor tensor(const std::string& name);

  // Checkpoints (checkpoint.cpp): the full training state plus the caller's metadata string.
  void save(const std::string& path, const std::string& metadata);
  // All or nothing: everything is read and checked before the model changes.
  void load(const std::string& path);
  static std::string read_metadata(const std::string& path);

  const Config& config() const { return config_; }

 private:
  void load_checked(const std::string& path);
  // Backbone input checks shared by embed and the analysis calls.
  void check_images(const torch::Tensor& images) const;
  void build_optimizer();
  std::unique_ptr<AdamW> make_optimizer() const;
  void copy_student_into_teacher();
  // Clips each gradient in place; returns the L2 norm of all gradients before clipping (device, fp64).
  torch::Tensor clip_gradients(double clip);
  void average_gradients();
  torch::Tensor reduce_step_values(const LossValues& loss, const std::vector<torch::Tensor>& extra,
                                   const torch::Tensor& teacher_cls, const torch::Tensor& teacher_patch);
  // frozen_backbone: only the heads follow (the backbone pairs come first in the lists).
  void ema_update(double momentum, const torch::Tensor& skip, bool frozen_backbone);
  // The lr factor of a student parameter: layer-wise decay and the backbone multiplier (1 for the heads).
  double lr_scale(const std::string& name) const;
  // The Gram teacher becomes a copy of the EMA teacher's backbone.
  void refresh_gram_teacher();
  Config config_;
  torch::Device device_;
  at::Generator gen_;         // CPU: initialisation, and drop-path on the CPU
  at::Generator device_gen_;  // drop-path on a GPU, reseeded every step (undefined on the CPU)
  Network student_{nullptr};
  Network teacher_{nullptr};
  IbotLoss loss_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<torch::Tensor> regularized_, not_regularized_;           // the optimiser's two groups
  std::vector<double> lr_scales_[2];                                   // each one's lr factors, in the same order
  std::vector<std::pair<std::string, torch::Tensor>> student_params_;  // trainable, optimiser order
  std::vector<torch::Tensor> last_layer_params_;
  std::vector<torch::Tensor> ema_teacher_, ema_student_;
  size_t ema_backbone_pairs_ = 0;                          // the first pairs of the EMA lists are the backbone's
  VisionTransformer gram_teacher_{nullptr};                // with gram_loss_weight > 0: a frozen backbone, no grad
  std::vector<torch::Tensor> gram_params_, gram_sources_;  // its parameters and the teacher backbone's, paired
  VisionTransformer distill_teacher_{nullptr};             // with distill_loss_weight > 0: frozen, of distill_* shape
  std::map<std::string, torch::Tensor> named_;
  std::vector<std::string> names_;
  int64_t step_ = 0;
  std::shared_ptr<Communicator> comm_;
  torch::Tensor flat_grads_;  // persistent: every parameter's gradient, then one has-gradient flag each
};

}  // namespace ibot4j
