// AdamW with iBOT's two parameter groups (weight decay on the first only), updated by LibTorch's
// fused multi-tensor kernel: one pass over each parameter's memory instead of the chain of
// element-wise ops torch::optim::AdamW runs per tensor. The state (moments, step counts) is kept in
// a torch::optim::AdamW so that checkpoints keep the layout they always had.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace ibot4j {

class AdamW {
 public:
  // scales: each parameter's lr factor (layer-wise decay, backbone multiplier), parallel to the two groups;
  // empty means 1 for every parameter. Parameters of one factor are updated by one fused call.
  AdamW(std::vector<torch::Tensor> regularized, std::vector<torch::Tensor> not_regularized, double beta1, double beta2,
        double eps, std::vector<std::vector<double>> scales = {});

  void zero_grad();
  // Parameters without a gradient are skipped, their step counts included (as torch.optim.AdamW).
  // found_inf (a one-element float tensor on the parameters' device), when given and non-zero, makes
  // the kernel leave everything unchanged without a host round trip; the step counts are rolled back.
  void step(double lr, double weight_decay, const std::optional<torch::Tensor>& found_inf = std::nullopt);

  void save(torch::serialize::OutputArchive& archive);
  // Moments land on each parameter's device whatever device they were saved from.
  void load(torch::serialize::InputArchive& archive);

 private:
  torch::optim::AdamWParamState& state_of(const torch::Tensor& param);
  // Makes group g's step counts: one float tensor on the parameters' device, each parameter's count a
  // 0-dim view of it, from the saved state (0 where a parameter has none yet).
  void init_step_counts(size_t g);
  std::vector<std::vector<torch::Tensor>> groups_;
  std::vector<std::vector<double>> scales_;
  double beta1_, beta2_, eps_;
  std::unique_ptr<torch::optim::AdamW> state_;
  // The fused kernel reads step counts from tensors; the int64 in the saved state follows them at save.
  // A group's counts live in one tensor so that a step moves them with one add instead of one add per
  // parameter (and a second one, with a copy each, to roll them back on a skipped step).
  std::vector<torch::Tensor> group_steps_;
  std::unordered_map<const void*, torch::Tensor> step_counts_;
};

}  // namespace ibot4j
