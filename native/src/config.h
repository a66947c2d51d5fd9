// The model configuration is the C struct itself (ibot4j.h); these are the few rules read from it.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "api.h"

namespace ibot4j {

using Config = ibot4j_config;

// Every rule a configuration must satisfy, one sentence per broken rule: the one validation of a
// configuration (the Java side asks for it through ibot4j_config_check instead of repeating it).
std::vector<std::string> config_problems(const Config& c);

// "invalid ibot4j config:" and one "\n  - problem" line each.
std::string describe_problems(const std::vector<std::string>& problems);

// config_problems, then whether this machine can run it (bf16 on this CPU, CUDA present); throws one
// InvalidArgument. Called wherever a model or encoder is created.
void validate(const Config& c);

// "name=value ..." over the ARCH rows of IBOT4J_CONFIG_FIELDS: what a checkpoint must match.
std::string architecture_fingerprint(const Config& c);

torch::Device device_of(const Config& c);

// The distillation teacher's backbone as a configuration of its own: c with the distill_* fields in place of the
// backbone's (no drop-path); its head fields are c's and unused.
Config distill_teacher_config(const Config& c);

// Whether bf16 matrix products run natively here (avx512_bf16 or AMX-BF16) rather than emulated.
bool cpu_has_native_bf16();

// Width of the patch logits: out_dim when either side shares its head, as the official loss sizes center2.
inline int64_t patch_logits_dim(const Config& c) {
  return (c.shared_head != 0 || c.shared_head_teacher != 0) ? c.out_dim : c.patch_out_dim;
}

}  // namespace ibot4j
