#include "optimizer.h"

#include <ATen/ops/_fused_adamw.h>

#include <map>

namespace ibot4j {

AdamW::AdamW(std::vector<torch::Tensor> regularized, std::vector<torch::Tensor> not_regularized, double beta1,
             double beta2, double eps, std::vector<std::vector<double>> scales)
    : groups_{regularized, not_regularized}, scales_(std::move(scales)), beta1_(beta1), beta2_(beta2), eps_(eps) {
  if (scales_.empty())
    scales_ = {std::vector<double>(regularized.size(), 1.0), std::vector<double>(not_regularized.size(), 1.0)};
  TORCH_CHECK(
      scales_.size() == 2 && scales_[0].size() == regularized.size() && scales_[1].size() == not_regularized.size(),
      "one lr scale per parameter");
  auto options = [&] { return torch::optim::AdamWOptions(0.0).betas({beta1, beta2}).eps(eps).weight_decay(0.0); };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::move(regularized), std::make_unique<torch::optim::AdamWOptions>(options()));
  groups.emplace_back(std::move(not_regularized), std::make_unique<torch::optim::AdamWOptions>(options()));
  state_ = std::make_unique<torch::optim::AdamW>(std::move(groups), options());
}

void AdamW::zero_grad() { state_->zero_grad(); }

torch::optim::AdamWParamState& AdamW::state_of(const torch::Tensor& param) {
  auto& states = state_->state();
  auto it = states.find(param.unsafeGetTensorImpl());
  if (it == states.end()) {
    auto fresh = std::make_unique<torch::optim::AdamWParamState>();
    fresh->exp_avg(torch::zeros_like(param, torch::MemoryFormat::Preserve));
    fresh->exp_avg_sq(torch::zeros_like(param, torch::MemoryFormat::Preserve));
    it = states.emplace(param.unsafeGetTensorImpl(), std::move(fresh)).first;
  }
  return static_cast<torch::optim::AdamWParamState&>(*it->second);
}

void AdamW::init_step_counts(size_t g) {
  const auto& group = groups_[g];
  std::vector<float> saved;
  for (const auto& p : group) {
    auto it = state_->state().find(p.unsafeGetTensorImpl());
    saved.push_back(it == state_->state().end()
                        ? 0.0F
                        : static_cast<float>(static_cast<torch::optim::AdamWParamState&>(*it->second).step()));
  }
  group_steps_[g] = torch::tensor(saved, torch::TensorOptions().dtype(torch::kFloat32)).to(group.front().device());
  for (size_t i = 0; i < group.size(); ++i) {
    step_counts_[group[i].unsafeGetTensorImpl()] = group_steps_[g].select(0, static_cast<int64_t>(i));
  }
}

void AdamW::step(double lr, double weight_decay, const std::optional<torch::Tensor>& found_inf) {
  torch::NoGradGuard no_grad;
  group_steps_.resize(groups_.size());
  // A stepped parameter's count moves by one, or by none when found_inf says the step is skipped (the
  // kernel then reads no count).
  torch::Tensor increment;
  if (found_inf.has_value()) increment = 1.0 - *found_inf;
  for (size_t g = 0; g < groups_.size(); ++g) {
    // One fused call per lr factor: the kernel takes one lr (weight decay is decoupled: lr x wd too).
    struct Bucket {
      std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    };
    std::map<double, Bucket> buckets;
    size_t stepped = 0;
    if (!groups_[g].empty() && !group_steps_[g].defined()) init_step_counts(g);
    for (size_t i = 0; i < groups_[g].size(); ++i) {
      const auto& p = groups_[g][i];
      if (!p.grad().defined()) continue;
      auto& s = state_of(p);
      auto& b = buckets[scales_[g][i]];
      b.params.push_back(p);
      b.grads.push_back(p.grad());
      b.exp_avgs.push_back(s.exp_avg());
      b.exp_avg_sqs.push_back(s.exp_avg_sq());
      b.steps.push_back(step_counts_.at(p.unsafeGetTensorImpl()));
      ++stepped;
    }
    if (stepped == 0) continue;
    if (stepped == groups_[g].size()) {
      if (increment.defined())
        group_steps_[g].add_(increment);
      else
        group_steps_[g].add_(1.0);
    } else {
      for (auto& entry : buckets) {
        if (increment.defined())
          at::_foreach_add_(entry.second.steps, increment);
        else
          at::_foreach_add_(entry.second.steps, 1.0);
      }
    }
    for (auto& entry : buckets) {
      auto& b = entry.second;
      at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, {}, b.steps, lr * entry.first, beta1_, beta2_,
                        g == 0 ? weight_decay : 0.0, eps_, /*amsgrad=*/false, /*maximize=*/false, std::nullopt,
                        found_inf);
    }
  }
}

void AdamW::save(torch::serialize::OutputArchive& archive) {
  for (const auto& group : groups_) {
    for (const auto& p : group) {
      // Only parameters the optimiser has stepped have a state (a count of 0 writes none).
      auto it = step_counts_.find(p.unsafeGetTensorImpl());
      auto st = state_->state().find(p.unsafeGetTensorImpl());
      if (it != step_counts_.end() && st != state_->state().end()) {
        static_cast<torch::optim::AdamWParamState&>(*st->second).step(static_cast<int64_t>(it->second.item<float>()));
      }
    }
  }
  state_->save(archive);
}

void AdamW::load(torch::serialize::InputArchive& archive) {
  state_->load(archive);
  step_counts_.clear();
  group_steps_.clear();
  for (const auto& group : groups_) {
    for (const auto& p : group) {
      auto& states = state_->state();
      auto it = states.find(p.unsafeGetTensorImpl());
      if (it == states.end()) continue;
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      s.exp_avg(s.exp_avg().to(p.device()));
      s.exp_avg_sq(s.exp_avg_sq().to(p.device()));
      TORCH_CHECK(s.exp_avg().sizes() == p.sizes() && s.exp_avg_sq().sizes() == p.sizes(), "optimiser state of shape ",
                  s.exp_avg().sizes(), " for a parameter of shape ", p.sizes());
    }
  }
}

}  // namespace ibot4j
