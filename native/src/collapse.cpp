#include "collapse.h"

#include <algorithm>
#include <cmath>

namespace ibot4j {

namespace {
// Entropy of each row of p (rows sum to 1), 0 ln 0 = 0.
torch::Tensor row_entropy(const torch::Tensor& p) { return -torch::xlogy(p, p).sum(-1); }
}  // namespace

torch::Tensor collapse_metrics(const torch::Tensor& cls_targets, const torch::Tensor& patch_targets,
                               const torch::Tensor& embeddings) {
  torch::NoGradGuard no_grad;
  auto cls = cls_targets.to(torch::kFloat32);
  auto patch = patch_targets.to(torch::kFloat32);
  // The patch entropy over at most as many masked tokens as there are [CLS] rows, evenly spaced (every s-th,
  // s = ceil(M / R)): all M tokens would cost M x K' logarithms (30 M for ViT-S/16 at 8192, ~0.5 s on two
  // cores), the subsample R x K' as the [CLS] entropy does.
  const int64_t m = patch.size(0), r = std::max<int64_t>(cls.size(0), 1);
  if (m > r) patch = patch.slice(0, 0, m, (m + r - 1) / r);
  auto used = torch::zeros({cls.size(1)}, cls.options()).index_fill_(0, cls.argmax(1), 1.0).sum();
  // The SVD of [R, D] (R = G*B crops, D = embed_dim): D is the width k-NN and probes read, and is at most
  // a few hundred, where out_dim is thousands.
  // A step whose tokens are not finite (it updates nothing) reports NaN: LibTorch's SVD would throw on them,
  // so it runs on zeros there, decided on the device without waiting for it.
  auto e = embeddings.to(torch::kFloat32);
  auto finite = torch::isfinite(e).all();
  auto s = torch::linalg_svdvals(torch::where(finite, e, torch::zeros_like(e)));
  auto rank = torch::where(finite, row_entropy(s / s.sum()).exp(), torch::full({}, NAN, s.options()));
  return torch::stack({row_entropy(cls).mean(), row_entropy(patch).mean(), used, rank}).to(torch::kFloat64);
}

}  // namespace ibot4j
