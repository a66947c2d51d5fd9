#include "linear.h"

#include <ATen/core/dispatch/Dispatcher.h>

namespace ibot4j {

namespace {
// oneDNN's bf16 kernels need avx512 (bf16 emulated) or native bf16; asked of LibTorch once.
bool onednn_bf16() {
  static const bool supported = [] {
    auto op = c10::Dispatcher::singleton().findSchema({"mkldnn::_is_mkldnn_bf16_supported", ""});
    return op.has_value() && at::globalContext().userEnabledMkldnn() && op->typed<bool()>().call();
  }();
  return supported;
}

torch::Tensor onednn_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            PostOp post) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
          .typed<at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&, c10::string_view,
                            c10::List<std::optional<c10::Scalar>>, std::optional<c10::string_view>)>();
  std::optional<at::Tensor> b;
  if (bias.defined()) b = bias.to(weight.scalar_type());
  // The input as autocast would hand it to at::linear: cast to the weight's dtype; oneDNN reads it dense.
  auto in = x.to(weight.scalar_type()).contiguous();
  const c10::List<std::optional<c10::Scalar>> no_scalars;
  if (post == PostOp::Gelu) return op.call(in, weight, b, "gelu", no_scalars, c10::string_view("none"));  // erf GELU
  return op.call(in, weight, b, "none", no_scalars, std::nullopt);
}
}  // namespace

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, PostOp post) {
  if (weight.scalar_type() == at::kBFloat16 && weight.device().is_cpu() && c10::InferenceMode::is_enabled() &&
      onednn_bf16()) {
    return onednn_linear(x, weight.contiguous(), bias, post);
  }
  auto y = torch::linear(x, weight, bias);
  return post == PostOp::Gelu ? torch::gelu(y) : y;
}

}  // namespace ibot4j
