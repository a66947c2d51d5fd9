#include "config.h"

#include <torch/cuda.h>

#include <cmath>
#include <sstream>
#include <string_view>

#include "common.h"

namespace ibot4j {

bool cpu_has_native_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

void validate(const Config& c) {
  std::ostringstream problems;
  auto check = [&](bool ok, const auto&... message) {
    if (!ok) (problems << "\n  " << ... << message);
  };
  check(c.img_size > 0 && c.patch_size > 0 && c.img_size % c.patch_size == 0, "img_size (", c.img_size,
        ") must be a positive multiple of patch_size (", c.patch_size, ")");
  check(c.in_chans > 0, "in_chans must be > 0");
  check(c.embed_dim > 0 && c.num_heads > 0 && c.embed_dim % c.num_heads == 0, "embed_dim (", c.embed_dim,
        ") must be a positive multiple of num_heads (", c.num_heads, ")");
  check(c.depth > 0, "depth must be > 0");
  check(c.mlp_ratio > 0, "mlp_ratio must be > 0");
  check(c.family == IBOT4J_FAMILY_IBOT || c.family == IBOT4J_FAMILY_DINOV2 || c.family == IBOT4J_FAMILY_DINOV3,
        "family must be 0 (ibot), 1 (dinov2) or 2 (dinov3), got ", c.family);
  check(c.family != IBOT4J_FAMILY_IBOT || (c.num_register_tokens == 0 && c.layer_scale_init == 0 && c.swiglu == 0),
        "the official iBOT ViT (family ibot) has no registers, LayerScale or SwiGLU; use family dinov2 or dinov3 for "
        "those");
  check(c.num_register_tokens >= 0, "num_register_tokens must be >= 0, got ", c.num_register_tokens);
  check(c.layer_scale_init >= 0 && std::isfinite(c.layer_scale_init),
        "layer_scale_init must be >= 0 (0 = no LayerScale), got ", c.layer_scale_init);
  check(!(c.family == IBOT4J_FAMILY_DINOV3 && c.num_heads > 0 && c.embed_dim % (4 * c.num_heads) != 0),
        "DINOv3's RoPE needs a head dimension (embed_dim / num_heads = ",
        c.num_heads > 0 ? c.embed_dim / c.num_heads : 0, ") that is a multiple of 4");
  check(
      !(c.family == IBOT4J_FAMILY_DINOV2 && c.swiglu != 0 && static_cast<int64_t>(c.embed_dim * c.mlp_ratio) % 2 != 0),
      "DINOv2's packed SwiGLU splits fc1 (int(embed_dim * mlp_ratio) = ",
      static_cast<int64_t>(c.embed_dim * c.mlp_ratio), " rows) into gate and value halves: it must be even");
  check(c.drop_path_rate >= 0 && c.drop_path_rate < 1, "drop_path_rate must be in [0, 1)");
  check(c.out_dim > 0 && c.patch_out_dim > 0 && c.hidden_dim > 0 && c.bottleneck_dim > 0,
        "out_dim, patch_out_dim, hidden_dim and bottleneck_dim must be > 0");
  check(!(c.shared_head != 0 && c.shared_head_teacher == 0),
        "shared_head=true needs shared_head_teacher=true (the teacher's patch projection would never follow the "
        "student)");
  check(!(c.shared_head_teacher != 0 && c.shared_head == 0 && c.patch_out_dim != c.out_dim),
        "with shared_head_teacher=true the teacher's patch logits have out_dim entries: patch_out_dim (",
        c.patch_out_dim, ") must equal out_dim (", c.out_dim, ")");
  check(c.student_temp > 0, "student_temp must be > 0");
  check(c.center_momentum >= 0 && c.center_momentum <= 1 && c.center_momentum2 >= 0 && c.center_momentum2 <= 1,
        "center_momentum and center_momentum2 must be in [0, 1]");
  check(c.lambda1 >= 0 && c.lambda2 >= 0, "lambda1 and lambda2 must be >= 0");
  check(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1, "beta1 and beta2 must be in [0, 1)");
  check(c.eps > 0, "eps must be > 0");
  check(c.centering == IBOT4J_CENTERING_CENTER || c.centering == IBOT4J_CENTERING_SINKHORN_KNOPP,
        "centering must be 0 (centering, the official EMA centre) or 1 (sinkhorn_knopp), got ", c.centering);
  check(c.koleo_loss_weight >= 0 && std::isfinite(c.koleo_loss_weight), "koleo_loss_weight must be >= 0, got ",
        c.koleo_loss_weight);
  check(c.layer_decay > 0 && c.layer_decay <= 1, "layer_decay must be in (0, 1] (1 = off), got ", c.layer_decay);
  check(c.backbone_lr_multiplier >= 0 && std::isfinite(c.backbone_lr_multiplier),
        "backbone_lr_multiplier must be >= 0 (1 = off), got ", c.backbone_lr_multiplier);
  check(c.gram_loss_weight >= 0 && std::isfinite(c.gram_loss_weight), "gram_loss_weight must be >= 0, got ",
        c.gram_loss_weight);
  check(c.num_threads >= 0, "num_threads must be >= 0");
  check(c.device == IBOT4J_DEVICE_CPU || c.device == IBOT4J_DEVICE_CUDA, "device must be CPU (0) or CUDA (1)");
  check(c.bf16_autocast == 0 || c.device != IBOT4J_DEVICE_CPU || c.force_bf16 != 0 || cpu_has_native_bf16(),
        "bf16_autocast on this CPU: it has no native bf16 instructions (avx512_bf16 or AMX-BF16), so bf16 matrix "
        "products "
        "would be emulated and run slower than fp32; leave bf16 off, or set force_bf16 to use it anyway");
  check(c.distill_loss_weight >= 0 && std::isfinite(c.distill_loss_weight), "distill_loss_weight must be >= 0, got ",
        c.distill_loss_weight);
  if (c.distill_loss_weight > 0) {
    try {
      validate(distill_teacher_config(c));
    } catch (const InvalidArgument& e) {
      check(false, "the distillation teacher's backbone (distill_*): ", e.what());
    }
  }
  const auto listed = problems.str();
  if (!listed.empty()) fail("invalid ibot4j config:", listed);
  if (c.device == IBOT4J_DEVICE_CUDA && !torch::cuda::is_available()) {
    fail(
        "device CUDA was requested, but the loaded LibTorch sees no CUDA device (a CPU-only LibTorch, or no GPU "
        "driver); use device CPU or a CUDA build of LibTorch");
  }
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
