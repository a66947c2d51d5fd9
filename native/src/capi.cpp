// The C entry points: convert C structs to the C++ model, and turn every exception into a status
// code plus a message copied into the caller's buffer.
#include <ATen/Version.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>
#include <new>
#include <sstream>

#include "common.h"
// The library is built with hidden visibility; only the C API is exported.
#pragma GCC visibility push(default)
#include "ibot4j.h"
#pragma GCC visibility pop
#include "model.h"

struct ibot4j_model {
  explicit ibot4j_model(const ibot4j::ModelOptions& options) : model(options) {}
  ibot4j::Model model;
};

namespace {

using ibot4j::fail;
using ibot4j::require;

// A filesystem problem (missing file, unwritable folder) rather than a bad argument.
class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void copy_message(char* buf, size_t len, const char* message) {
  if (buf == nullptr || len == 0) return;
  const size_t n = std::min(std::strlen(message), len - 1);
  std::memcpy(buf, message, n);
  buf[n] = '\0';
}

template <typename Fn>
int32_t guarded(char* err, size_t err_len, Fn&& fn) noexcept {
  try {
    copy_message(err, err_len, "");
    fn();
    return IBOT4J_OK;
  } catch (const c10::OutOfMemoryError& e) {
    copy_message(err, err_len, e.what_without_backtrace());
    return IBOT4J_ERR_OUT_OF_MEMORY;
  } catch (const c10::Error& e) {
    // LibTorch's checks fire on what the caller passed (shapes, sizes, dtypes): report its message.
    copy_message(err, err_len, e.what_without_backtrace());
    return IBOT4J_ERR_INVALID_ARGUMENT;
  } catch (const ibot4j::InvalidArgument& e) {
    copy_message(err, err_len, e.what());
    return IBOT4J_ERR_INVALID_ARGUMENT;
  } catch (const IoError& e) {
    copy_message(err, err_len, e.what());
    return IBOT4J_ERR_IO;
  } catch (const std::bad_alloc&) {
    copy_message(err, err_len, "out of memory (std::bad_alloc)");
    return IBOT4J_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    copy_message(err, err_len, e.what());
    return IBOT4J_ERR_INTERNAL;
  } catch (...) {
    copy_message(err, err_len, "unknown C++ exception");
    return IBOT4J_ERR_INTERNAL;
  }
}

template <typename T>
T& deref(T* p, const char* what) {
  require(p != nullptr, what, " is NULL");
  return *p;
}

ibot4j::Model& model_of(ibot4j_model* handle) { return deref(handle, "model handle").model; }

bool is_teacher(int32_t which) {
  require(which == IBOT4J_STUDENT || which == IBOT4J_TEACHER, "which must be IBOT4J_STUDENT (0) or IBOT4J_TEACHER (1), got ",
          which);
  return which == IBOT4J_TEACHER;
}

// Wraps caller memory without copying; the tensor must not outlive the call.
torch::Tensor wrap(const void* data, torch::IntArrayRef sizes, torch::ScalarType type, const char* what) {
  require(data != nullptr, what, " is NULL");
  for (auto s : sizes) require(s >= 0, what, " has a negative size: ", sizes);
  return torch::from_blob(const_cast<void*>(data), sizes, type);
}

void write_out(float* out, const torch::Tensor& value) {
  if (out == nullptr) return;
  torch::from_blob(out, value.sizes(), torch::kFloat32).copy_(value.detach());
}

ibot4j::ModelOptions to_options(const ibot4j_config& c) {
  std::ostringstream problems;
  auto check = [&](bool ok, const std::string& message) {
    if (!ok) problems << "\n  " << message;
  };
  check(c.img_size > 0 && c.patch_size > 0 && c.img_size % c.patch_size == 0,
        "img_size must be a positive multiple of patch_size");
  check(c.in_chans > 0, "in_chans must be > 0");
  check(c.embed_dim > 0 && c.num_heads > 0 && c.embed_dim % c.num_heads == 0,
        "embed_dim must be a positive multiple of num_heads");
  check(c.depth > 0, "depth must be > 0");
  check(c.mlp_ratio > 0, "mlp_ratio must be > 0");
  check(c.drop_path_rate >= 0 && c.drop_path_rate < 1, "drop_path_rate must be in [0, 1)");
  check(c.out_dim > 0 && c.patch_out_dim > 0 && c.hidden_dim > 0 && c.bottleneck_dim > 0,
        "out_dim, patch_out_dim, hidden_dim and bottleneck_dim must be > 0");
  check(c.student_temp > 0, "student_temp must be > 0");
  check(c.center_momentum >= 0 && c.center_momentum <= 1 && c.center_momentum2 >= 0 && c.center_momentum2 <= 1,
        "center_momentum and center_momentum2 must be in [0, 1]");
  check(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1, "betas must be in [0, 1)");
  check(c.eps > 0, "eps must be > 0");
  check(c.num_threads >= 0, "num_threads must be >= 0");
  check(c.device == IBOT4J_DEVICE_CPU || c.device == IBOT4J_DEVICE_CUDA, "device must be CPU (0) or CUDA (1)");
  const auto listed = problems.str();
  if (!listed.empty()) fail("invalid ibot4j config:", listed);
  if (c.device == IBOT4J_DEVICE_CUDA && !torch::cuda::is_available()) {
    fail("device CUDA was requested, but the loaded LibTorch sees no CUDA device (a CPU-only LibTorch, or no GPU "
         "driver); use device CPU or a CUDA build of LibTorch");
  }
  ibot4j::ModelOptions o;
  o.vit.img_size = c.img_size;
  o.vit.patch_size = c.patch_size;
  o.vit.in_chans = c.in_chans;
  o.vit.embed_dim = c.embed_dim;
  o.vit.depth = c.depth;
  o.vit.num_heads = c.num_heads;
  o.vit.mlp_ratio = c.mlp_ratio;
  o.vit.qkv_bias = c.qkv_bias != 0;
  o.vit.drop_path_rate = c.drop_path_rate;
  o.head.in_dim = c.embed_dim;
  o.head.out_dim = c.out_dim;
  o.head.patch_out_dim = c.patch_out_dim;
  o.head.hidden_dim = c.hidden_dim;
  o.head.bottleneck_dim = c.bottleneck_dim;
  o.head.shared_head = c.shared_head != 0;
  o.head.norm_last_layer = c.norm_last_layer != 0;
  o.shared_head_teacher = c.shared_head_teacher != 0;
  o.loss.student_temp = c.student_temp;
  o.loss.center_momentum = c.center_momentum;
  o.loss.center_momentum2 = c.center_momentum2;
  o.loss.lambda1 = c.lambda1;
  o.loss.lambda2 = c.lambda2;
  o.beta1 = c.beta1;
  o.beta2 = c.beta2;
  o.eps = c.eps;
  o.seed = c.seed;
  o.device = c.device == IBOT4J_DEVICE_CUDA ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  o.bf16_autocast = c.bf16_autocast != 0 && c.device == IBOT4J_DEVICE_CUDA;
  return o;
}

void copy_sized(const std::string& text, char* buf, size_t buf_len, size_t* needed) {
  if (needed != nullptr) *needed = text.size() + 1;
  copy_message(buf, buf_len, text.c_str());
}

std::string text_of(const char* text, const char* what) {
  require(text != nullptr && text[0] != '\0', what, " is NULL or empty");
  return text;
}

void require_readable(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw IoError("cannot open checkpoint '" + path + "' for reading: " + std::strerror(errno));
}

}  // namespace

extern "C" {

int32_t ibot4j_build_info_get(ibot4j_build_info* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& info = deref(out, "out");
    info.abi_version = IBOT4J_ABI_VERSION;
    info.torch_major = TORCH_VERSION_MAJOR;
    info.torch_minor = TORCH_VERSION_MINOR;
    info.torch_patch = TORCH_VERSION_PATCH;
    info.cuda_available = torch::cuda::is_available() ? 1 : 0;
    info.num_threads = at::get_num_threads();
  });
}

int32_t ibot4j_torch_config(char* buf, size_t buf_len, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { copy_message(buf, buf_len, at::show_config().c_str()); });
}

int32_t ibot4j_model_create(const ibot4j_config* config, ibot4j_model** out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& result = deref(out, "out");
    result = nullptr;
    auto options = to_options(deref(config, "config"));
    if (config->num_threads > 0) at::set_num_threads(config->num_threads);
    result = new ibot4j_model(options);
  });
}

int32_t ibot4j_model_free(ibot4j_model* model, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { delete model; });
}

namespace {
// The C batch and scalars as the model takes them: shapes checked, caller memory wrapped without a copy.
std::pair<ibot4j::Batch, ibot4j::StepParams> step_arguments(const ibot4j::Model& m, const ibot4j_batch& b,
                                                            const ibot4j_step_params& p) {
  const int64_t c = m.options().vit.in_chans, patch = m.options().vit.patch_size;
  require(b.batch_size > 0 && b.n_global > 0 && b.n_local >= 0 && b.global_size > 0,
          "batch_size, n_global and global_size must be > 0 and n_local >= 0");
  require(b.global_size % patch == 0, "global_size ", b.global_size, " is not a multiple of patch_size ", patch);
  ibot4j::Batch in;
  in.batch_size = b.batch_size;
  in.n_global = b.n_global;
  in.n_local = b.n_local;
  in.global_crops = wrap(b.global_crops, {b.batch_size * b.n_global, c, b.global_size, b.global_size},
                         torch::kFloat32, "global_crops");
  const int64_t grid = b.global_size / patch;
  in.masks = wrap(b.masks, {b.batch_size * b.n_global, grid, grid}, torch::kUInt8, "masks");
  if (b.n_local > 0) {
    require(b.local_size > 0, "local_size must be > 0 when n_local > 0");
    in.local_crops = wrap(b.local_crops, {b.batch_size * b.n_local, c, b.local_size, b.local_size}, torch::kFloat32,
                          "local_crops");
  }
  ibot4j::StepParams sp;
  sp.lr = p.lr;
  sp.weight_decay = p.weight_decay;
  sp.teacher_momentum = p.teacher_momentum;
  sp.teacher_temp = p.teacher_temp;
  sp.teacher_patch_temp = p.teacher_patch_temp;
  sp.freeze_last_layer = p.freeze_last_layer != 0;
  sp.clip_grad = p.clip_grad;
  require(sp.teacher_temp > 0 && sp.teacher_patch_temp > 0, "teacher temperatures must be > 0");
  require(sp.teacher_momentum >= 0 && sp.teacher_momentum <= 1, "teacher_momentum must be in [0, 1], got ",
          sp.teacher_momentum);
  require(sp.lr >= 0 && sp.weight_decay >= 0 && sp.clip_grad >= 0, "lr, weight_decay and clip_grad must be >= 0");
  return {std::move(in), sp};
}
}  // namespace

int32_t ibot4j_train_step(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                          ibot4j_step_result* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    auto [in, sp] = step_arguments(m, deref(batch, "batch"), deref(params, "params"));
    // IBOT4J_TRACE=<file>: LibTorch's op-level profile of each step, as a Chrome trace (for performance work).
    static const char* trace = std::getenv("IBOT4J_TRACE");
    ibot4j::StepResult r;
    if (trace != nullptr) {
      torch::autograd::profiler::RecordProfile profile{std::string(trace)};
      r = m.train_step(in, sp);
    } else {
      r = m.train_step(in, sp);
    }
    result.loss = r.loss;
    result.cls_loss = r.cls_loss;
    result.patch_loss = r.patch_loss;
    result.grad_norm = r.grad_norm;
    result.finite = r.finite ? 1 : 0;
    result.step = r.step;
  });
}

int32_t ibot4j_train_step_dry_run(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                                  ibot4j_step_result* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    auto arguments = step_arguments(m, deref(batch, "batch"), deref(params, "params"));
    result = ibot4j_step_result{};
    result.step = arguments.first.batch_size;  // use the wrapped arguments so none of the work is optimised away
  });
}

int32_t ibot4j_noop(char* err, size_t err_len) {
  return guarded(err, err_len, [] {});
}

int32_t ibot4j_embed(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height, int32_t width,
                     const uint8_t* masks, float* out_cls, float* out_patch, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    const int64_t patch = m.options().vit.patch_size;
    require(n > 0 && height > 0 && width > 0, "n, height and width must be > 0");
    auto x = wrap(images, {n, m.options().vit.in_chans, height, width}, torch::kFloat32, "images");
    std::optional<torch::Tensor> mask_tensor;
    if (masks != nullptr) {
      require(!teacher, "masks apply to the student only (the teacher has no mask token)");
      mask_tensor = wrap(masks, {n, height / patch, width / patch}, torch::kUInt8, "masks");
    }
    auto tokens = m.embed(teacher, x, mask_tensor).to(torch::kCPU, torch::kFloat32);
    write_out(out_cls, tokens.select(1, 0));
    write_out(out_patch, tokens.narrow(1, 1, tokens.size(1) - 1));
  });
}

int32_t ibot4j_head(ibot4j_model* model, int32_t which, const float* tokens, int64_t n, int64_t num_tokens,
                    float* out_cls, float* out_patch, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    require(n > 0 && num_tokens > 0, "n and num_tokens must be > 0");
    auto x = wrap(tokens, {n, num_tokens, m.options().vit.embed_dim}, torch::kFloat32, "tokens");
    auto logits = m.head_logits(teacher, x);
    write_out(out_cls, logits.first.to(torch::kCPU, torch::kFloat32));
    if (logits.second.defined()) write_out(out_patch, logits.second.to(torch::kCPU, torch::kFloat32));
  });
}

int32_t ibot4j_loss(ibot4j_model* model, const float* student_cls, const float* student_patch,
                    const float* teacher_cls, const float* teacher_patch, const uint8_t* masks, int64_t batch_size,
                    int32_t n_global, int32_t n_local, int64_t num_patches, double teacher_temp,
                    double teacher_patch_temp, int32_t update_center, ibot4j_step_result* out, char* err,
                    size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    require(batch_size > 0 && n_global > 0 && n_local >= 0 && num_patches > 0,
            "batch_size, n_global and num_patches must be > 0 and n_local >= 0");
    require(teacher_temp > 0 && teacher_patch_temp > 0, "teacher temperatures must be > 0");
    const int64_t k = m.loss().center.size(1), kp = m.loss().center2.size(2);
    const int64_t gb = n_global * batch_size;
    const auto dev = m.device();
    ibot4j::LossInputs in;
    in.student_cls = wrap(student_cls, {(n_global + n_local) * batch_size, k}, torch::kFloat32, "student_cls").to(dev);
    in.teacher_cls = wrap(teacher_cls, {gb, k}, torch::kFloat32, "teacher_cls").to(dev);
    in.teacher_patch = wrap(teacher_patch, {gb, num_patches, kp}, torch::kFloat32, "teacher_patch").to(dev);
    in.masks = wrap(masks, {gb, num_patches}, torch::kUInt8, "masks").to(dev, torch::kBool);
    in.student_patch_masked =
        wrap(student_patch, {gb, num_patches, kp}, torch::kFloat32, "student_patch").to(dev).index({in.masks});
    in.batch_size = batch_size;
    in.n_global = n_global;
    in.n_local = n_local;
    in.teacher_temp = teacher_temp;
    in.teacher_patch_temp = teacher_patch_temp;
    torch::NoGradGuard no_grad;
    auto values = m.loss().compute(in);
    result = ibot4j_step_result{};
    result.loss = values.total.item<double>();
    result.cls_loss = values.cls.item<double>();
    result.patch_loss = values.patch.item<double>();
    result.finite = std::isfinite(result.loss) ? 1 : 0;
    if (update_center != 0) m.loss().update_centers(in.teacher_cls, in.teacher_patch);
  });
}

int32_t ibot4j_tensor_names(ibot4j_model* model, char* buf, size_t buf_len, size_t* needed, char* err,
                            size_t err_len) {
  return guarded(err, err_len, [&] {
    std::string joined;
    for (const auto& name : model_of(model).tensor_names()) {
      if (!joined.empty()) joined += '\n';
      joined += name;
    }
    copy_sized(joined, buf, buf_len, needed);
  });
}

int32_t ibot4j_tensor_shape(ibot4j_model* model, const char* name, int64_t* dims, int32_t max_dims, int32_t* ndim,
                            char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    const auto t = model_of(model).tensor(text_of(name, "name"));
    deref(ndim, "ndim") = static_cast<int32_t>(t.dim());
    require(dims != nullptr || max_dims == 0, "dims is NULL");
    for (int64_t i = 0; i < t.dim() && i < max_dims; ++i) dims[i] = t.size(i);
  });
}

int32_t ibot4j_tensor_read(ibot4j_model* model, const char* name, float* out, int64_t numel, char* err,
                           size_t err_len) {
  return guarded(err, err_len, [&] {
    const auto t = model_of(model).tensor(text_of(name, "name"));
    require(numel == t.numel(), "tensor ", name, " has ", t.numel(), " elements, the buffer holds ", numel);
    require(out != nullptr, "out is NULL");
    torch::from_blob(out, t.sizes(), torch::kFloat32).copy_(t.detach());
  });
}

int32_t ibot4j_tensor_write(ibot4j_model* model, const char* name, const float* data, int64_t numel, char* err,
                            size_t err_len) {
  return guarded(err, err_len, [&] {
    auto t = model_of(model).tensor(text_of(name, "name"));
    require(numel == t.numel(), "tensor ", name, " has ", t.numel(), " elements, the data holds ", numel);
    torch::NoGradGuard no_grad;
    t.copy_(wrap(data, t.sizes(), torch::kFloat32, "data"));
  });
}

int32_t ibot4j_checkpoint_save(ibot4j_model* model, const char* path, const char* metadata, char* err,
                               size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const auto file = text_of(path, "path");
    try {
      m.save(file, metadata == nullptr ? "" : metadata);
    } catch (const c10::Error& e) {
      throw IoError("cannot write checkpoint '" + file + "': " + e.what_without_backtrace());
    }
  });
}

int32_t ibot4j_checkpoint_load(ibot4j_model* model, const char* path, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const auto file = text_of(path, "path");
    require_readable(file);
    try {
      m.load(file);
    } catch (const c10::Error& e) {
      throw IoError("cannot read checkpoint '" + file + "': " + e.what_without_backtrace());
    }
  });
}

int32_t ibot4j_checkpoint_metadata(const char* path, char* buf, size_t buf_len, size_t* needed, char* err,
                                   size_t err_len) {
  return guarded(err, err_len, [&] {
    const auto file = text_of(path, "path");
    require_readable(file);
    try {
      copy_sized(ibot4j::Model::read_metadata(file), buf, buf_len, needed);
    } catch (const c10::Error& e) {
      throw IoError("cannot read checkpoint '" + file + "': " + e.what_without_backtrace());
    }
  });
}

}  // extern "C"
