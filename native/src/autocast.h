// bf16 autocast around forward passes, shared by the training model and the inference encoder.
#pragma once

#include <ATen/autocast_mode.h>

namespace ibot4j {

// bf16 autocast on `device` for this scope; a no-op when disabled. Weights stay fp32 (the optimiser and
// the EMA see fp32). Autocast state and its cast cache are thread-local in LibTorch, so concurrent
// scopes on different threads do not see each other.
class AutocastScope {
 public:
  AutocastScope(bool enabled, c10::DeviceType device) : enabled_(enabled), device_(device) {
    if (enabled_) {
      at::autocast::set_autocast_dtype(device_, at::kBFloat16);
      at::autocast::set_autocast_enabled(device_, true);
    }
  }
  ~AutocastScope() {
    if (enabled_) {
      at::autocast::set_autocast_enabled(device_, false);
      at::autocast::clear_cache();
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_;
};

}  // namespace ibot4j
