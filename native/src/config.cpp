#include "config.h"

#include <torch/cuda.h>

#include <cmath>
#include <sstream>
#include <string_view>
#include <vector>

#include "common.h"

namespace ibot4j {

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

std::vector<std::string> config_problems(const Config& c) {
  std::vector<std::string> problems;
  auto check = [&](bool ok, const auto&... message) {
    if (ok) return;
    std::ostringstream out;
    (out << ... << message);
    problems.push_back(out.str());
  };
  // !(v > 0) and !(v >= 0) also catch NaN.
  auto positive = [&](const char* name, double v) { check(v > 0, name, " must be > 0, got ", v); };
  auto in_unit = [&](const char* name, double v) { check(v >= 0 && v <= 1, name, " must be in [0, 1], got ", v); };
  auto below_one = [&](const char* name, double v) { check(v >= 0 && v < 1, name, " must be in [0, 1), got ", v); };
  positive("img_size", c.img_size);
  positive("patch_size", c.patch_size);
  check(c.patch_size <= 0 || c.img_size % c.patch_size == 0, "img_size (", c.img_size,
        ") must be a multiple of patch_size (", c.patch_size, ")");
  positive("in_chans", c.in_chans);
  positive("embed_dim", c.embed_dim);
  positive("depth", c.depth);
  positive("num_heads", c.num_heads);
  check(c.num_heads <= 0 || c.embed_dim % c.num_heads == 0, "embed_dim (", c.embed_dim,
        ") must be a multiple of num_heads (", c.num_heads, ")");
  positive("mlp_ratio", c.mlp_ratio);
  check(c.family == IBOT4J_FAMILY_IBOT || c.family == IBOT4J_FAMILY_DINOV2 || c.family == IBOT4J_FAMILY_DINOV3,
        "family must be 0 (ibot), 1 (dinov2) or 2 (dinov3), got ", c.family);
  check(c.family != IBOT4J_FAMILY_IBOT || (c.num_register_tokens == 0 && c.layer_scale_init == 0 && c.swiglu == 0),
        "the official iBOT ViT (family ibot) has no registers, LayerScale or SwiGLU; use family dinov2 or dinov3 for "
        "those");
  check(c.num_register_tokens >= 0, "num_register_tokens must be >= 0, got ", c.num_register_tokens);
  check(c.layer_scale_init >= 0 && std::isfinite(c.layer_scale_init),
        "layer_scale_init must be >= 0 (0 = no LayerScale), got ", c.layer_scale_init);
  check(c.family != IBOT4J_FAMILY_DINOV3 || c.num_heads <= 0 || c.embed_dim % (4 * c.num_heads) == 0,
        "DINOv3's RoPE needs a head dimension (embed_dim / num_heads = ",
        c.num_heads > 0 ? c.embed_dim / c.num_heads : 0, ") that is a multiple of 4");
  check(c.family != IBOT4J_FAMILY_DINOV2 || c.swiglu == 0 || static_cast<int64_t>(c.embed_dim * c.mlp_ratio) % 2 == 0,
        "DINOv2's packed SwiGLU splits fc1 (int(embed_dim * mlp_ratio) = ",
        static_cast<int64_t>(c.embed_dim * c.mlp_ratio), " rows) into gate and value halves: it must be even");
  below_one("drop_path_rate", c.drop_path_rate);
  positive("out_dim", c.out_dim);
  positive("patch_out_dim", c.patch_out_dim);
  positive("hidden_dim", c.hidden_dim);
  positive("bottleneck_dim", c.bottleneck_dim);
  check(!(c.shared_head != 0 && c.shared_head_teacher == 0),
        "shared_head=true needs shared_head_teacher=true (otherwise the teacher's patch projection never follows the "
        "student)");
  check(!(c.shared_head_teacher != 0 && c.shared_head == 0 && c.patch_out_dim != c.out_dim),
        "with shared_head_teacher=true the teacher's patch logits have out_dim entries: patch_out_dim (",
        c.patch_out_dim, ") must equal out_dim (", c.out_dim, ")");
  positive("student_temp", c.student_temp);
  in_unit("center_momentum", c.center_momentum);
  in_unit("center_momentum2", c.center_momentum2);
  below_one("beta1", c.beta1);
  below_one("beta2", c.beta2);
  positive("eps", c.eps);
  check(c.centering == IBOT4J_CENTERING_CENTER || c.centering == IBOT4J_CENTERING_SINKHORN_KNOPP,
        "centering must be 0 (centering, the official EMA centre) or 1 (sinkhorn_knopp), got ", c.centering);
#define IBOT4J_WEIGHT_RULE(type, name, role) \
  if (std::string_view(#role) == "WEIGHT")   \
    check(c.name >= 0 && std::isfinite(static_cast<double>(c.name)), #name, " must be >= 0, got ", c.name);
  IBOT4J_CONFIG_FIELDS(IBOT4J_WEIGHT_RULE)
#undef IBOT4J_WEIGHT_RULE
  check(c.layer_decay > 0 && c.layer_decay <= 1, "layer_decay must be in (0, 1] (1 = off), got ", c.layer_decay);
  check(c.backbone_lr_multiplier >= 0 && std::isfinite(c.backbone_lr_multiplier),
        "backbone_lr_multiplier must be >= 0 (1 = off), got ", c.backbone_lr_multiplier);
  if (c.distill_loss_weight > 0) {
    for (const auto& p : config_problems(distill_teacher_config(c))) {
      check(false, "the distillation teacher's backbone (distill_*): ", p);
    }
  }
  check(c.num_threads >= 0, "num_threads must be >= 0 (0 keeps LibTorch's default), got ", c.num_threads);
  check(c.device == IBOT4J_DEVICE_CPU || c.device == IBOT4J_DEVICE_CUDA, "device must be 0 (CPU) or 1 (CUDA), got ",
        c.device);
  return problems;
}

std::string describe_problems(const std::vector<std::string>& problems) {
  std::ostringstream out;
  out << "invalid ibot4j config:";
  for (const auto& p : problems) out << "\n  - " << p;
  return out.str();
}

void validate(const Config& c) {
  const auto problems = config_problems(c);
  if (!problems.empty()) fail(describe_problems(problems));
  // What this machine and this LibTorch can run: not a property of the configuration, so not in
  // config_problems (a configuration valid here is valid on a GPU machine).
  require(c.bf16_autocast == 0 || c.device != IBOT4J_DEVICE_CPU || c.force_bf16 != 0 || cpu_has_native_bf16(),
          "bf16_autocast on this CPU: it has no native bf16 instructions (avx512_bf16 or AMX-BF16), so bf16 matrix "
          "products would be emulated and run slower than fp32; leave bf16 off, or set force_bf16 to use it anyway");
  require(c.device != IBOT4J_DEVICE_CUDA || torch::cuda::is_available(),
          "device CUDA was requested, but the loaded LibTorch sees no CUDA device (a CPU-only LibTorch, or no GPU "
          "driver); use device CPU or a CUDA build of LibTorch");
}

std::string architecture_fingerprint(const Config& c) {
  std::ostringstream s;
  // Fields added after ABI 6 are written only when set, so that a checkpoint saved before them keeps
  // the fingerprint it was saved with (and a model of the official ViT still loads it).
  auto added_later = [](std::string_view name) {
    return name == "family" || name == "num_register_tokens" || name == "layer_scale_init" || name == "swiglu";
  };
#define IBOT4J_ARCH_FIELD(type, name, role)                                      \
  if (std::string_view(#role) == "ARCH" && !(added_later(#name) && c.name == 0)) \
    s << (s.tellp() > 0 ? " " : "") << #name << "=" << c.name;
  IBOT4J_CONFIG_FIELDS(IBOT4J_ARCH_FIELD)
#undef IBOT4J_ARCH_FIELD
  return s.str();
}

Config distill_teacher_config(const Config& c) {
  Config t = c;
  t.family = c.distill_family;
  t.img_size = c.distill_img_size;
  t.patch_size = c.distill_patch_size;
  t.embed_dim = c.distill_embed_dim;
  t.depth = c.distill_depth;
  t.num_heads = c.distill_num_heads;
  t.mlp_ratio = c.distill_mlp_ratio;
  t.qkv_bias = c.distill_qkv_bias;
  t.num_register_tokens = c.distill_num_register_tokens;
  t.layer_scale_init = c.distill_layer_scale_init;
  t.swiglu = c.distill_swiglu;
  t.drop_path_rate = 0;
  t.distill_loss_weight = 0;
  t.gram_loss_weight = 0;
  return t;
}

torch::Device device_of(const Config& c) {
  return c.device == IBOT4J_DEVICE_CUDA ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

}  // namespace ibot4j
