// Shared helpers of the ibot4j shim: the error type for bad arguments and small checks.
#pragma once

#include <torch/torch.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace ibot4j {

// Thrown for a call that is wrong on its face (bad config, shapes that disagree); reported to the
// caller as IBOT4J_ERR_INVALID_ARGUMENT rather than an internal failure.
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A file that cannot be opened, read or written (missing, damaged, not a checkpoint, disk full).
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

template <typename... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw InvalidArgument(out.str());
}

template <typename... Parts>
void require(bool condition, const Parts&... parts) {
  if (!condition) fail(parts...);
}

// Trunc-normal with the official cut at +-2 absolute: at std 0.02 the cut is 100 sigma away, so a
// plain normal draw is the same distribution; the clamp keeps the stated bound honest.
inline void trunc_normal_(torch::Tensor t, double std, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  t.normal_(0.0, std, gen);
  t.clamp_(-2.0, 2.0);
}

// PyTorch's default Linear/Conv init (kaiming-uniform, a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
inline void default_uniform_(torch::Tensor t, int64_t fan_in, at::Generator& gen) {
  torch::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  t.uniform_(-bound, bound, gen);
}

}  // namespace ibot4j
