#include "rope.h"

#include <cmath>
#include <vector>

namespace ibot4j {

RopeImpl::RopeImpl(int64_t dim, double temp) : head_dim(dim), temperature(temp) {
  periods = register_parameter("periods", torch::zeros({dim / 4}), /*requires_grad=*/false);
  reset_periods();
}

void RopeImpl::reset_periods() {
  torch::NoGradGuard no_grad;
  // timm's schedule, in fp32: temperature ** (2 i / (head_dim / 2)), i < head_dim / 4.
  auto exponents = 2.0 * torch::arange(head_dim / 4, torch::kFloat32) / static_cast<double>(head_dim / 2);
  periods.copy_(torch::pow(temperature, exponents));
}

torch::Tensor RopeImpl::embed(int64_t grid_h, int64_t grid_w) const {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  // Patch centres (i + 0.5) / size per axis, mapped to [-1, 1], rows before columns.
  auto h =
      (torch::arange(0.5, static_cast<double>(grid_h), 1.0, f32) / static_cast<double>(grid_h)).to(periods.device());
  auto w =
      (torch::arange(0.5, static_cast<double>(grid_w), 1.0, f32) / static_cast<double>(grid_w)).to(periods.device());
  auto grids = torch::meshgrid({h, w}, "ij");
  auto coords = torch::stack({grids[0], grids[1]}, -1).flatten(0, 1) * 2.0 - 1.0;  // [HW, 2]
  auto angles = (2.0 * M_PI) * coords.unsqueeze(-1) / periods.to(torch::kFloat32).view({1, 1, -1});
  angles = angles.flatten(1).tile({2});  // [HW, head_dim]: rotate-half layout
  return torch::stack({angles.sin(), angles.cos()});
}

namespace {
// x [b, n, ..., head_dim] with its tokens after the first `prefix` rotated by the angles whose sines and cosines
// (first half of the tiled layout) are sin and cos [n - prefix, 1, ..., half], or by the negated angles (sign -1).
// timm's x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1], with the halves written out: the angles are
// tiled (both halves of sin and cos are equal), so the first half is x1 c - x2 s and the second x2 c + x1 s, the
// same products and sums, rounded alike (a - b is a + (-b) exactly; addcmul rounds the product before the sum). In
// the angles' dtype (fp32) like timm's: under bf16 the patches are cast once (a product of bf16 and fp32 would cast
// its bf16 operand each time), then one cast into x's dtype.
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& sin, const torch::Tensor& cos, int64_t prefix,
                     double sign) {
  const auto n = x.size(1), half = x.size(-1) / 2;
  auto patches = x.narrow(1, prefix, n - prefix).to(sin.scalar_type());
  auto x1 = patches.narrow(-1, 0, half), x2 = patches.narrow(-1, half, half);
  auto out = torch::empty(x.sizes(), x.options());
  out.narrow(1, 0, prefix).copy_(x.narrow(1, 0, prefix));
  auto rotated = out.narrow(1, prefix, n - prefix);
  rotated.narrow(-1, 0, half).copy_(torch::addcmul(x1 * cos, x2, sin, -sign));
  rotated.narrow(-1, half, half).copy_(torch::addcmul(x2 * cos, x1, sin, sign));
  return out;
}

// A rotation's gradient is the rotation by the negated angles: one autograd node, where recording the function
// above would leave a node per narrow, cast and slice copy, whose backward zero-fills and copies whole tensors.
struct RopeFunction : public torch::autograd::Function<RopeFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& sin,
                               const torch::Tensor& cos, int64_t prefix) {
    ctx->save_for_backward({sin, cos});
    ctx->saved_data["prefix"] = prefix;
    return rotate(x, sin, cos, prefix, 1.0);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    return {rotate(grad[0], saved[0], saved[1], ctx->saved_data["prefix"].toInt(), -1.0), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
  }
};
}  // namespace

torch::Tensor apply_rope(const torch::Tensor& x, const torch::Tensor& rope, int64_t prefix) {
  // Tokens in dimension 1, as the qkv projection writes them: q and k of every head go through together, over
  // rows of contiguous memory.
  const auto n = x.size(1), half = x.size(-1) / 2;
  std::vector<int64_t> shape(static_cast<size_t>(x.dim() - 1), 1);  // [n - prefix, 1, ..., half]
  shape.front() = n - prefix;
  shape.back() = half;
  auto sin = rope[0].narrow(-1, 0, half).view(shape), cos = rope[1].narrow(-1, 0, half).view(shape);
  return RopeFunction::apply(x, sin, cos, prefix);
}

}  // namespace ibot4j
