// The C entry points: convert C arguments to the C++ model's, and turn every exception into a status
// code plus a message copied into the caller's buffer. Nothing else lives here.
#include <ATen/Version.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cstring>
#include <new>

#include "api.h"
#include "common.h"
#include "compute_thread.h"
#include "dist.h"
#include "encoder.h"
#include "model.h"
#include "thread_limits.h"
#include "trace.h"

struct ibot4j_model {
  explicit ibot4j_model(const ibot4j_config& config) : model(config) {}
  ibot4j::Model model;
};

struct ibot4j_encoder {
  explicit ibot4j_encoder(const ibot4j_config& config) : encoder(config) {}
  ibot4j::Encoder encoder;
};

struct ibot4j_group {
  std::shared_ptr<ibot4j::Communicator> comm;
};

namespace {

using ibot4j::require;

void copy_message(char* buf, size_t len, const char* message) {
  if (buf == nullptr || len == 0) return;
  const size_t n = std::min(std::strlen(message), len - 1);
  std::memcpy(buf, message, n);
  buf[n] = '\0';
}

int32_t report(char* err, size_t err_len, int32_t status, const char* message) {
  copy_message(err, err_len, message);
  return status;
}

// The most specific category first: LibTorch's Error subclasses say who is at fault.
template <typename Fn>
int32_t guarded_here(char* err, size_t err_len, Fn&& fn) noexcept {
  try {
    copy_message(err, err_len, "");
    fn();
    return IBOT4J_OK;
  } catch (const c10::OutOfMemoryError& e) {
    return report(err, err_len, IBOT4J_ERR_OUT_OF_MEMORY, e.what_without_backtrace());
  } catch (const c10::DistError& e) {
    return report(err, err_len, IBOT4J_ERR_DISTRIBUTED, e.what_without_backtrace());
  } catch (const ibot4j::DistFailure& e) {
    return report(err, err_len, IBOT4J_ERR_DISTRIBUTED, e.what());
  } catch (const c10::AcceleratorError& e) {
    return report(err, err_len, IBOT4J_ERR_DEVICE, e.what_without_backtrace());
  } catch (const c10::IndexError& e) {
    return report(err, err_len, IBOT4J_ERR_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::ValueError& e) {
    return report(err, err_len, IBOT4J_ERR_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::TypeError& e) {
    return report(err, err_len, IBOT4J_ERR_INVALID_ARGUMENT, e.what_without_backtrace());
  } catch (const c10::Error& e) {
    // Arguments are checked before LibTorch sees them, so its remaining checks are internal failures.
    return report(err, err_len, IBOT4J_ERR_INTERNAL, e.what_without_backtrace());
  } catch (const ibot4j::InvalidArgument& e) {
    return report(err, err_len, IBOT4J_ERR_INVALID_ARGUMENT, e.what());
  } catch (const ibot4j::IoError& e) {
    return report(err, err_len, IBOT4J_ERR_IO, e.what());
  } catch (const std::bad_alloc&) {
    return report(err, err_len, IBOT4J_ERR_OUT_OF_MEMORY, "out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    return report(err, err_len, IBOT4J_ERR_INTERNAL, e.what());
  } catch (...) {
    return report(err, err_len, IBOT4J_ERR_INTERNAL, "unknown C++ exception");
  }
}

// Every entry point: the work runs on the caller's compute thread (compute_thread.h), so that no
// call depends on the stack the caller happened to have.
template <typename Fn>
int32_t guarded(char* err, size_t err_len, Fn&& fn) noexcept {
  try {
    return ibot4j::run_on_compute_thread([&]() -> int32_t { return guarded_here(err, err_len, fn); });
  } catch (const std::exception& e) {
    return report(err, err_len, IBOT4J_ERR_INTERNAL, e.what());
  } catch (...) {
    return report(err, err_len, IBOT4J_ERR_INTERNAL, "unknown C++ exception starting the compute thread");
  }
}

template <typename T>
T& deref(T* p, const char* what) {
  require(p != nullptr, what, " is NULL");
  return *p;
}

ibot4j::Model& model_of(ibot4j_model* handle) { return deref(handle, "model handle").model; }

ibot4j::Encoder& encoder_of(ibot4j_encoder* handle) { return deref(handle, "encoder handle").encoder; }

bool is_teacher(int32_t which) {
  require(which == IBOT4J_STUDENT || which == IBOT4J_TEACHER,
          "which must be IBOT4J_STUDENT (0) or IBOT4J_TEACHER (1), got ", which);
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
  torch::from_blob(out, value.sizes(), torch::kFloat32).copy_(value.detach().to(torch::kCPU, torch::kFloat32));
}

void copy_sized(const std::string& text, char* buf, size_t buf_len, size_t* needed) {
  if (needed != nullptr) *needed = text.size() + 1;
  copy_message(buf, buf_len, text.c_str());
}

void copy_names(const std::vector<std::string>& names, char* buf, size_t buf_len, size_t* needed) {
  std::string joined;
  for (const auto& name : names) {
    if (!joined.empty()) joined += '\n';
    joined += name;
  }
  copy_sized(joined, buf, buf_len, needed);
}

std::string text_of(const char* text, const char* what) {
  require(text != nullptr && text[0] != '\0', what, " is NULL or empty");
  return text;
}

// The C batch as tensors over the caller's memory; Model::train_step checks the shapes.
ibot4j::Batch batch_of(const ibot4j::Config& c, const ibot4j_batch& b) {
  const int64_t bg = b.batch_size * b.n_global, grid = b.global_size / c.patch_size;
  ibot4j::Batch in;
  in.batch_size = b.batch_size;
  in.n_global = b.n_global;
  in.n_local = b.n_local;
  in.global_crops =
      wrap(b.global_crops, {bg, c.in_chans, b.global_size, b.global_size}, torch::kFloat32, "global_crops");
  in.masks = wrap(b.masks, {bg, grid, grid}, torch::kUInt8, "masks");
  if (b.n_local > 0) {
    in.local_crops = wrap(b.local_crops, {b.batch_size * b.n_local, c.in_chans, b.local_size, b.local_size},
                          torch::kFloat32, "local_crops");
  }
  return in;
}

void fill_result(ibot4j_step_result& out, const ibot4j::StepResult& r) {
  out.loss = r.loss;
  out.cls_loss = r.cls_loss;
  out.patch_loss = r.patch_loss;
  out.grad_norm = r.grad_norm;
  out.finite = r.finite ? 1 : 0;
  out.step = r.step;
  out.koleo_loss = r.koleo_loss;
  out.teacher_cls_entropy = r.teacher_cls_entropy;
  out.teacher_patch_entropy = r.teacher_patch_entropy;
  out.prototypes_used = static_cast<int32_t>(r.prototypes_used);
  out.effective_rank = r.effective_rank;
  out.gram_loss = r.gram_loss;
  out.distill_loss = r.distill_loss;
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
    info.cpu_native_bf16 = ibot4j::cpu_has_native_bf16() ? 1 : 0;
  });
}

int32_t ibot4j_torch_config(char* buf, size_t buf_len, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { copy_message(buf, buf_len, at::show_config().c_str()); });
}

int32_t ibot4j_config_check(const ibot4j_config* config, char* err, size_t err_len) {
  // Pure arithmetic on the struct, no LibTorch: answered on the caller's thread.
  return guarded_here(err, err_len, [&] {
    const auto problems = ibot4j::config_problems(deref(config, "config"));
    if (!problems.empty()) ibot4j::fail(ibot4j::describe_problems(problems));
  });
}

int32_t ibot4j_model_create(const ibot4j_config* config, ibot4j_model** out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& result = deref(out, "out");
    result = nullptr;
    const auto& c = deref(config, "config");
    auto created = std::make_unique<ibot4j_model>(c);
    ibot4j::set_intra_op_threads(c.num_threads);
    result = created.release();
  });
}

int32_t ibot4j_model_free(ibot4j_model* model, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { delete model; });
}

int32_t ibot4j_train_step(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                          ibot4j_step_result* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    fill_result(result, m.train_step(batch_of(m.config(), deref(batch, "batch")), deref(params, "params")));
  });
}

int32_t ibot4j_train_step_dry_run(ibot4j_model* model, const ibot4j_batch* batch, const ibot4j_step_params* params,
                                  ibot4j_step_result* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    deref(params, "params");
    auto wrapped = batch_of(m.config(), deref(batch, "batch"));
    result = ibot4j_step_result{};
    result.step = wrapped.global_crops.size(0);  // use the wrapped arguments so none of the work is optimised away
  });
}

int32_t ibot4j_noop(char* err, size_t err_len) {
  // The bare downcall's cost, for the boundary benchmark: no hand-over to the compute thread.
  return guarded_here(err, err_len, [] {});
}

int32_t ibot4j_trace_begin(const char* path, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { ibot4j::trace_begin(text_of(path, "path")); });
}

int32_t ibot4j_trace_end(char* err, size_t err_len) {
  return guarded(err, err_len, [] { ibot4j::trace_end(); });
}

int32_t ibot4j_embed(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height, int32_t width,
                     const uint8_t* masks, float* out_cls, float* out_patch, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    const int64_t patch = m.config().patch_size;
    auto x = wrap(images, {n, m.config().in_chans, height, width}, torch::kFloat32, "images");
    std::optional<torch::Tensor> mask_tensor;
    if (masks != nullptr) mask_tensor = wrap(masks, {n, height / patch, width / patch}, torch::kUInt8, "masks");
    if (out_patch == nullptr && masks == nullptr) {
      if (out_cls != nullptr) write_out(out_cls, m.embed_cls(teacher, x));
      return;
    }
    auto tokens = m.embed(teacher, x, mask_tensor);
    write_out(out_cls, tokens.select(1, 0));
    write_out(out_patch, tokens.narrow(1, 1, tokens.size(1) - 1));
  });
}

int32_t ibot4j_last_attention(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height,
                              int32_t width, float* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    auto x = wrap(images, {n, m.config().in_chans, height, width}, torch::kFloat32, "images");
    require(out != nullptr, "out is NULL");
    write_out(out, m.last_cls_attention(teacher, x));
  });
}

int32_t ibot4j_head(ibot4j_model* model, int32_t which, const float* tokens, int64_t n, int64_t num_tokens,
                    float* out_cls, float* out_patch, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    auto x = wrap(tokens, {n, num_tokens, m.config().embed_dim}, torch::kFloat32, "tokens");
    auto logits = m.head_logits(teacher, x);
    write_out(out_cls, logits.first);
    if (logits.second.defined()) write_out(out_patch, logits.second);
  });
}

int32_t ibot4j_loss(ibot4j_model* model, const float* student_cls, const float* student_patch, const float* teacher_cls,
                    const float* teacher_patch, const uint8_t* masks, int64_t batch_size, int32_t n_global,
                    int32_t n_local, int64_t num_patches, double teacher_temp, double teacher_patch_temp,
                    int32_t update_center, ibot4j_step_result* out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    auto& result = deref(out, "out");
    const int64_t k = m.config().out_dim, kp = ibot4j::patch_logits_dim(m.config());
    const int64_t gb = n_global * batch_size;
    ibot4j::LossArguments a;
    a.student_cls = wrap(student_cls, {(n_global + n_local) * batch_size, k}, torch::kFloat32, "student_cls");
    a.student_patch = wrap(student_patch, {gb, num_patches, kp}, torch::kFloat32, "student_patch");
    a.teacher_cls = wrap(teacher_cls, {gb, k}, torch::kFloat32, "teacher_cls");
    a.teacher_patch = wrap(teacher_patch, {gb, num_patches, kp}, torch::kFloat32, "teacher_patch");
    a.masks = wrap(masks, {gb, num_patches}, torch::kUInt8, "masks");
    a.batch_size = batch_size;
    a.n_global = n_global;
    a.n_local = n_local;
    a.teacher_temp = teacher_temp;
    a.teacher_patch_temp = teacher_patch_temp;
    result = ibot4j_step_result{};
    fill_result(result, m.loss(a, update_center != 0));
  });
}

int32_t ibot4j_gram_loss(const float* student, const float* teacher, int64_t n, int64_t tokens, int64_t dim,
                         double* out_loss, float* out_grad, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& result = deref(out_loss, "out_loss");
    require(n > 0 && tokens > 0 && dim > 0, "n, tokens and dim must be > 0, got ", n, ", ", tokens, " and ", dim);
    auto s = wrap(student, {n, tokens, dim}, torch::kFloat32, "student").clone().requires_grad_(out_grad != nullptr);
    auto t = wrap(teacher, {n, tokens, dim}, torch::kFloat32, "teacher");
    auto loss = ibot4j::gram_loss(s, t);
    result = loss.item<double>();
    if (out_grad != nullptr) {
      loss.backward();
      write_out(out_grad, s.grad());
    }
  });
}

int32_t ibot4j_group_create(const ibot4j_dist_config* config, ibot4j_group** out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& result = deref(out, "out");
    result = nullptr;
    auto group = std::make_unique<ibot4j_group>();
    group->comm = ibot4j::create_group(deref(config, "config"));
    result = group.release();
  });
}

int32_t ibot4j_group_free(ibot4j_group* group, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { delete group; });
}

int32_t ibot4j_group_all_reduce(ibot4j_group* group, double* values, int64_t n, int32_t op, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& comm = *deref(group, "group").comm;
    require(op == IBOT4J_REDUCE_SUM || op == IBOT4J_REDUCE_MIN || op == IBOT4J_REDUCE_MAX,
            "op must be IBOT4J_REDUCE_*, got ", op);
    auto host = wrap(values, {n}, torch::kFloat64, "values");
    auto data = host.to(comm.device(), /*non_blocking=*/false, /*copy=*/true);
    comm.all_reduce(data,
                    op == IBOT4J_REDUCE_SUM   ? ibot4j::Communicator::Op::Sum
                    : op == IBOT4J_REDUCE_MIN ? ibot4j::Communicator::Op::Min
                                              : ibot4j::Communicator::Op::Max,
                    "an all-reduce of run values");
    host.copy_(data.to(torch::kCPU));
  });
}

int32_t ibot4j_model_join(ibot4j_model* model, ibot4j_group* group, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { model_of(model).join(deref(group, "group").comm); });
}

int32_t ibot4j_tensor_names(ibot4j_model* model, char* buf, size_t buf_len, size_t* needed, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { copy_names(model_of(model).tensor_names(), buf, buf_len, needed); });
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
    write_out(out, t);
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

int32_t ibot4j_checkpoint_save(ibot4j_model* model, const char* path, const char* metadata, char* err, size_t err_len) {
  return guarded(err, err_len,
                 [&] { model_of(model).save(text_of(path, "path"), metadata == nullptr ? "" : metadata); });
}

int32_t ibot4j_checkpoint_load(ibot4j_model* model, const char* path, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { model_of(model).load(text_of(path, "path")); });
}

int32_t ibot4j_checkpoint_metadata(const char* path, char* buf, size_t buf_len, size_t* needed, char* err,
                                   size_t err_len) {
  return guarded(err, err_len,
                 [&] { copy_sized(ibot4j::Model::read_metadata(text_of(path, "path")), buf, buf_len, needed); });
}

int32_t ibot4j_intermediate_features(ibot4j_model* model, int32_t which, const float* images, int64_t n, int32_t height,
                                     int32_t width, int32_t n_last_blocks, int32_t patch_mean_normed, float* out_cls,
                                     float* out_patch_mean, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& m = model_of(model);
    const bool teacher = is_teacher(which);
    auto x = wrap(images, {n, m.config().in_chans, height, width}, torch::kFloat32, "images");
    auto features = m.intermediate_features(teacher, x, n_last_blocks, patch_mean_normed != 0);
    write_out(out_cls, features.first);
    write_out(out_patch_mean, features.second);
  });
}

int32_t ibot4j_encoder_create(const ibot4j_config* config, ibot4j_encoder** out, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& result = deref(out, "out");
    result = nullptr;
    const auto& c = deref(config, "config");
    auto created = std::make_unique<ibot4j_encoder>(c);
    ibot4j::set_intra_op_threads(c.num_threads);
    result = created.release();
  });
}

int32_t ibot4j_encoder_free(ibot4j_encoder* encoder, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { delete encoder; });
}

int32_t ibot4j_encoder_load(ibot4j_encoder* encoder, const char* path, int32_t which, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& e = encoder_of(encoder);
    e.load_checkpoint(text_of(path, "path"), is_teacher(which));
  });
}

int32_t ibot4j_encoder_tensor_names(ibot4j_encoder* encoder, char* buf, size_t buf_len, size_t* needed, char* err,
                                    size_t err_len) {
  return guarded(err, err_len, [&] { copy_names(encoder_of(encoder).tensor_names(), buf, buf_len, needed); });
}

int32_t ibot4j_encoder_write(ibot4j_encoder* encoder, const char* name, const float* data, const int64_t* dims,
                             int32_t ndim, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    auto& e = encoder_of(encoder);
    const std::string tensor = text_of(name, "name");
    require(ndim >= 0 && ndim <= 8, "ndim must be 0..8, got ", ndim);
    require(dims != nullptr || ndim == 0, "dims is NULL");
    e.write(tensor, wrap(data, torch::IntArrayRef(dims, static_cast<size_t>(ndim)), torch::kFloat32, "data"));
  });
}

int32_t ibot4j_encoder_forward(ibot4j_encoder* encoder, const float* images, int64_t n, int32_t height, int32_t width,
                               float* out_cls, float* out_patch, char* err, size_t err_len) {
  return guarded(err, err_len, [&] {
    const auto& e = encoder_of(encoder);
    auto x = wrap(images, {n, e.config().in_chans, height, width}, torch::kFloat32, "images");
    if (out_patch == nullptr) {
      // Only the CLS is asked for: its last block skips the other tokens' outputs (docs/benchmarks.md).
      if (out_cls != nullptr) write_out(out_cls, e.forward_cls(x));
      return;
    }
    auto tokens = e.forward(x);
    write_out(out_cls, tokens.select(1, 0));
    write_out(out_patch, tokens.narrow(1, 1, tokens.size(1) - 1));
  });
}

int32_t ibot4j_encoder_export_torchscript(ibot4j_encoder* encoder, const char* path, char* err, size_t err_len) {
  return guarded(err, err_len, [&] { encoder_of(encoder).export_torchscript(text_of(path, "path")); });
}

int32_t ibot4j_torchscript_forward(const char* path, const float* images, int64_t n, int32_t height, int32_t width,
                                   float* out, int64_t out_len, int64_t* out_rows, int64_t* out_cols, char* err,
                                   size_t err_len) {
  return guarded(err, err_len, [&] {
    require(n > 0 && height > 0 && width > 0, "n, height and width must be > 0, got ", n, ", ", height, " and ", width);
    auto result =
        ibot4j::run_torchscript(text_of(path, "path"), wrap(images, {n, 3, height, width}, torch::kFloat32, "images"));
    require(result.dim() == 2, "the module returned a tensor of ", result.dim(), " dimensions, not [N, D]");
    require(out != nullptr && out_len >= result.numel(), "out holds ", out_len, " floats, the result needs ",
            result.numel());
    torch::from_blob(out, {result.numel()}, torch::kFloat32).copy_(result.reshape({-1}).to(torch::kFloat32));
    deref(out_rows, "out_rows") = result.size(0);
    deref(out_cols, "out_cols") = result.size(1);
  });
}

}  // extern "C"
