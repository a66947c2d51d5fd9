#include "model.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <set>
#include <sstream>

#include "common.h"

namespace ibot4j {

namespace {

// bf16 autocast around forward passes on CUDA; a no-op elsewhere.
class AutocastScope {
 public:
  explicit AutocastScope(bool enabled) : enabled_(enabled) {
    if (enabled_) {
      at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
      at::autocast::set_autocast_enabled(at::kCUDA, true);
    }
  }
  ~AutocastScope() {
    if (enabled_) {
      at::autocast::set_autocast_enabled(at::kCUDA, false);
      at::autocast::clear_cache();
    }
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

constexpr const char* kCheckpointFormat = "ibot4j-checkpoint-1";

}  // namespace

NetworkImpl::NetworkImpl(const VitOptions& vit, const HeadOptions& head_options) {
  backbone = register_module("backbone", VisionTransformer(vit));
  head = register_module("head", IbotHead(head_options));
}

Model::Model(const ModelOptions& o)
    : options_(o),
      gen_(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(o.seed))),
      loss_(o.loss, o.head.out_dim,
            (o.head.shared_head || o.shared_head_teacher) ? o.head.out_dim : o.head.patch_out_dim, o.device) {
  require(!(o.head.shared_head && !o.shared_head_teacher),
          "shared_head=true with shared_head_teacher=false is not supported: the teacher's patch projection "
          "would never follow the student");
  VitOptions student_vit = o.vit;
  student_vit.masked_im_modeling = true;
  VitOptions teacher_vit = o.vit;
  teacher_vit.masked_im_modeling = false;
  teacher_vit.drop_path_rate = 0.0;
  HeadOptions teacher_head = o.head;
  teacher_head.shared_head = o.shared_head_teacher;
  // With one shared side, the official loss sizes the patch centre by out_dim.
  if (o.head.shared_head || o.shared_head_teacher) {
    HeadOptions& h = options_.head;
    if (!h.shared_head && h.patch_out_dim != h.out_dim) {
      fail("with shared_head_teacher=true the teacher's patch logits have out_dim (", h.out_dim,
           ") entries, so patch_out_dim must equal out_dim, got ", h.patch_out_dim);
    }
  }

  student_ = Network(student_vit, o.head);
  teacher_ = Network(teacher_vit, teacher_head);
  student_->backbone->init_weights(gen_);
  student_->head->init_weights(gen_);
  copy_student_into_teacher();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
  student_->to(o.device);
  teacher_->to(o.device);

  std::set<std::string> student_names;
  for (const auto& item : student_->named_parameters()) {
    student_names.insert(item.key());
    named_["student." + item.key()] = item.value();
    names_.push_back("student." + item.key());
  }
  for (const auto& item : teacher_->named_parameters()) {
    named_["teacher." + item.key()] = item.value();
    names_.push_back("teacher." + item.key());
    if (student_names.count(item.key()) > 0) {
      ema_teacher_.push_back(item.value());
      ema_student_.push_back(named_["student." + item.key()]);
    }
  }
  named_["loss.center"] = loss_.center;
  named_["loss.center2"] = loss_.center2;
  names_.push_back("loss.center");
  names_.push_back("loss.center2");
  build_optimizer();
}

void Model::copy_student_into_teacher() {
  // The official teacher loads the student's state dict non-strictly: shared names are copied,
  // the student-only mask token and patch projection are ignored.
  torch::NoGradGuard no_grad;
  auto student_params = student_->named_parameters();
  // Official quirk kept: a shared teacher head aliases last_layer2 to last_layer, and the non-strict
  // load writes last_layer2 last, so an unshared student's *patch* projection seeds it.
  const bool patch_seeds_shared = options_.shared_head_teacher && !options_.head.shared_head;
  for (auto& item : teacher_->named_parameters()) {
    std::string source_name = item.key();
    if (patch_seeds_shared && source_name.rfind("head.last_layer.", 0) == 0) {
      source_name = "head.last_layer2." + source_name.substr(std::string("head.last_layer.").size());
    }
    const auto* source = student_params.find(source_name);
    TORCH_CHECK(source != nullptr, "teacher parameter ", item.key(), " has no student counterpart");
    item.value().copy_(*source);
  }
}

void Model::build_optimizer() {
  std::vector<torch::Tensor> regularized, not_regularized;
  for (const auto& item : student_->named_parameters()) {
    auto p = item.value();
    if (!p.requires_grad()) continue;
    student_params_.emplace_back(item.key(), p);
    // iBOT's get_params_groups: no weight decay on biases and 1-D tensors (norms).
    if (ends_with(item.key(), ".bias") || p.dim() == 1) {
      not_regularized.push_back(p);
    } else {
      regularized.push_back(p);
    }
    if (item.key().find("last_layer") != std::string::npos) last_layer_params_.push_back(p);
  }
  auto adamw = [&] {
    return torch::optim::AdamWOptions(0.0)
        .betas({options_.beta1, options_.beta2})
        .eps(options_.eps)
        .weight_decay(0.0);
  };
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(regularized, std::make_unique<torch::optim::AdamWOptions>(adamw()));
  groups.emplace_back(not_regularized, std::make_unique<torch::optim::AdamWOptions>(adamw()));
  optimizer_ = std::make_unique<torch::optim::AdamW>(std::move(groups), adamw());
}

double Model::clip_gradients(double clip) {
  std::vector<torch::Tensor> grads;
  grads.reserve(student_params_.size());
  for (auto& entry : student_params_) {
    if (entry.second.grad().defined()) grads.push_back(entry.second.grad());
  }
  if (grads.empty()) return 0.0;
  auto norms = torch::stack(at::_foreach_norm(grads, 2)).to(torch::kCPU, torch::kFloat64);
  auto norms_acc = norms.accessor<double, 1>();
  double total_sq = 0.0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const double norm = norms_acc[static_cast<int64_t>(i)];
    total_sq += norm * norm;
    // Per-parameter clipping, as the official clip_gradients (not a global norm).
    const double coef = clip / (norm + 1e-6);
    if (clip > 0.0 && coef < 1.0) grads[i].mul_(coef);
  }
  return std::sqrt(total_sq);
}

void Model::ema_update(double momentum) {
  torch::NoGradGuard no_grad;
  at::_foreach_mul_(ema_teacher_, momentum);
  at::_foreach_add_(ema_teacher_, ema_student_, 1.0 - momentum);
}

StepResult Model::train_step(const Batch& batch, const StepParams& params) {
  const auto& vit = options_.vit;
  const int64_t b = batch.batch_size, g = batch.n_global, l = batch.n_local, p = vit.patch_size;
  require(b >= 1, "batch_size must be >= 1, got ", b);
  require(g >= 1 && l >= 0, "need n_global >= 1 and n_local >= 0, got ", g, " and ", l);
  require(g * (g + l) - g > 0, "the CLS loss needs at least one cross-view pair: n_global=", g, " n_local=", l);
  const auto& gc = batch.global_crops;
  require(gc.dim() == 4 && gc.size(0) == b * g && gc.size(1) == vit.in_chans,
          "global crops must be [batch_size*n_global=", b * g, ", in_chans=", vit.in_chans, ", H, W], got ",
          gc.sizes());
  require(gc.size(2) % p == 0 && gc.size(3) % p == 0, "global crop size ", gc.size(2), "x", gc.size(3),
          " is not a multiple of patch_size ", p);
  const int64_t gh = gc.size(2) / p, gw = gc.size(3) / p, n_patches = gh * gw;
  require(batch.masks.dim() == 3 && batch.masks.size(0) == b * g && batch.masks.size(1) == gh &&
              batch.masks.size(2) == gw,
          "masks must be [", b * g, ", ", gh, ", ", gw, "], got ", batch.masks.sizes());
  if (l > 0) {
    const auto& lc = batch.local_crops;
    require(lc.defined() && lc.dim() == 4 && lc.size(0) == b * l && lc.size(1) == vit.in_chans,
            "local crops must be [batch_size*n_local=", b * l, ", in_chans=", vit.in_chans, ", h, w]");
    require(lc.size(2) % p == 0 && lc.size(3) % p == 0, "local crop size ", lc.size(2), "x", lc.size(3),
            " is not a multiple of patch_size ", p);
  }

  const auto device = options_.device;
  auto global = gc.to(device);
  auto masks = batch.masks.to(device, torch::kBool);
  auto masks_flat = masks.flatten(1);  // [G*B, N]

  torch::Tensor teacher_cls, teacher_patch;
  {
    torch::NoGradGuard no_grad;
    AutocastScope autocast(options_.bf16_autocast);
    auto z = teacher_->head->embed(teacher_->backbone->forward(global, std::nullopt, nullptr));
    teacher_cls = teacher_->head->cls_logits(z.select(1, 0));
    teacher_patch = teacher_->head->patch_logits(z.narrow(1, 1, n_patches));
  }

  LossValues loss;
  {
    AutocastScope autocast(options_.bf16_autocast);
    auto student_global = student_->backbone->forward(global, masks, &gen_);
    std::vector<torch::Tensor> cls_tokens{student_global.select(1, 0)};
    if (l > 0) {
      auto student_local = student_->backbone->forward(batch.local_crops.to(device), std::nullopt, &gen_);
      cls_tokens.push_back(student_local.select(1, 0));
    }
    // The head runs only where the loss reads it: CLS of every crop and masked patches of global crops.
    auto masked_tokens = student_global.narrow(1, 1, n_patches).index({masks_flat});
    const int64_t n_cls = (g + l) * b;
    cls_tokens.push_back(masked_tokens);
    auto z = student_->head->embed(torch::cat(cls_tokens, 0));
    LossInputs in;
    in.student_cls = student_->head->cls_logits(z.narrow(0, 0, n_cls));
    in.student_patch_masked = student_->head->patch_logits(z.narrow(0, n_cls, masked_tokens.size(0)));
    in.teacher_cls = teacher_cls;
    in.teacher_patch = teacher_patch;
    in.masks = masks_flat;
    in.batch_size = b;
    in.n_global = g;
    in.n_local = l;
    in.teacher_temp = params.teacher_temp;
    in.teacher_patch_temp = params.teacher_patch_temp;
    loss = loss_.compute(in);
  }

  StepResult result;
  auto values = torch::stack({loss.total.detach(), loss.cls.detach(), loss.patch.detach()}).to(torch::kCPU, torch::kFloat64);
  result.loss = values[0].item<double>();
  result.cls_loss = values[1].item<double>();
  result.patch_loss = values[2].item<double>();
  result.finite = std::isfinite(result.loss);
  result.step = step_;
  if (!result.finite) return result;  // nothing is updated: weights, optimiser, centres, step

  optimizer_->zero_grad();
  loss.total.backward();
  result.grad_norm = clip_gradients(params.clip_grad);
  if (params.freeze_last_layer) {
    // A gradient of None makes AdamW skip the parameter entirely, as in cancel_gradients_last_layer.
    for (auto& param : last_layer_params_) param.mutable_grad() = torch::Tensor();
  }
  auto& groups = optimizer_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i) {
    auto& opts = static_cast<torch::optim::AdamWOptions&>(groups[i].options());
    opts.lr(params.lr);
    opts.weight_decay(i == 0 ? params.weight_decay : 0.0);
  }
  optimizer_->step();
  // Gradients stay until the next step's zero_grad (as in the official loop), readable as "grad.*".
  ema_update(params.teacher_momentum);
  loss_.update_centers(teacher_cls, teacher_patch);
  result.step = ++step_;
  return result;
}

torch::Tensor Model::embed(bool is_teacher, const torch::Tensor& images, const std::optional<torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  require(images.dim() == 4 && images.size(1) == options_.vit.in_chans, "images must be [n, ",
          options_.vit.in_chans, ", H, W], got ", images.sizes());
  auto& net = is_teacher ? teacher_ : student_;
  std::optional<torch::Tensor> device_masks;
  if (masks.has_value()) device_masks = masks->to(options_.device, torch::kBool);
  return net->backbone->forward(images.to(options_.device), device_masks, nullptr);
}

std::pair<torch::Tensor, torch::Tensor> Model::head_logits(bool is_teacher, const torch::Tensor& tokens) {
  torch::NoGradGuard no_grad;
  require(tokens.dim() == 3 && tokens.size(2) == options_.vit.embed_dim && tokens.size(1) >= 1,
          "tokens must be [n, T, embed_dim=", options_.vit.embed_dim, "], got ", tokens.sizes());
  auto& net = is_teacher ? teacher_ : student_;
  auto z = net->head->embed(tokens.to(options_.device));
  auto cls = net->head->cls_logits(z.select(1, 0));
  torch::Tensor patch;
  if (tokens.size(1) > 1) patch = net->head->patch_logits(z.narrow(1, 1, tokens.size(1) - 1));
  return {cls, patch};
}

std::vector<std::string> Model::tensor_names() const { return names_; }

torch::Tensor Model::tensor(const std::string& name) {
  const std::string grad_prefix = "grad.";
  if (name.compare(0, grad_prefix.size(), grad_prefix) == 0) {
    auto it = named_.find(name.substr(grad_prefix.size()));
    require(it != named_.end() && name.compare(grad_prefix.size(), 8, "student.") == 0, "no gradient named '", name,
            "' (gradients exist for student.* parameters)");
    require(it->second.grad().defined(), "'", name,
            "' has no gradient: no step yet, the parameter is frozen, or its update was cancelled this step");
    return it->second.grad();
  }
  auto it = named_.find(name);
  require(it != named_.end(), "no tensor named '", name, "' (names: student.*, teacher.*, loss.center, loss.center2)");
  return it->second;
}

std::string Model::fingerprint() const {
  const auto& v = options_.vit;
  const auto& h = options_.head;
  std::ostringstream s;
  s << "img_size=" << v.img_size << " patch_size=" << v.patch_size << " in_chans=" << v.in_chans
    << " embed_dim=" << v.embed_dim << " depth=" << v.depth << " num_heads=" << v.num_heads
    << " mlp_ratio=" << v.mlp_ratio << " qkv_bias=" << v.qkv_bias << " out_dim=" << h.out_dim
    << " patch_out_dim=" << h.patch_out_dim << " hidden_dim=" << h.hidden_dim << " bottleneck_dim=" << h.bottleneck_dim
    << " shared_head=" << h.shared_head << " shared_head_teacher=" << options_.shared_head_teacher
    << " norm_last_layer=" << h.norm_last_layer;
  return s.str();
}

void Model::save(const std::string& path, const std::string& metadata) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kCheckpointFormat)));
  archive.write("fingerprint", c10::IValue(fingerprint()));
  archive.write("metadata", c10::IValue(metadata));
  archive.write("step", c10::IValue(step_));
  archive.write("torch_version", c10::IValue(std::string(TORCH_VERSION)));
  archive.write("rng_state", gen_.get_state());
  c10::List<std::string> names;
  for (size_t i = 0; i < names_.size(); ++i) {
    names.push_back(names_[i]);
    // Archive keys cannot hold the dots of parameter names, so tensors go by index.
    archive.write("t" + std::to_string(i), named_.at(names_[i]).detach().to(torch::kCPU));
  }
  archive.write("tensor_names", c10::IValue(names));
  torch::serialize::OutputArchive optimizer_archive;
  optimizer_->save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.save_to(path);
}

namespace {
torch::serialize::InputArchive open_checkpoint(const std::string& path) {
  torch::serialize::InputArchive archive;
  archive.load_from(path, torch::kCPU);
  c10::IValue format;
  if (!archive.try_read("format", format) || !format.isString() || format.toStringRef() != kCheckpointFormat) {
    fail("'", path, "' is not an ibot4j checkpoint (expected format ", kCheckpointFormat, ")");
  }
  return archive;
}
}  // namespace

std::string Model::read_metadata(const std::string& path) {
  auto archive = open_checkpoint(path);
  c10::IValue metadata;
  archive.read("metadata", metadata);
  return metadata.toStringRef();
}

void Model::load(const std::string& path) {
  auto archive = open_checkpoint(path);
  c10::IValue fp;
  archive.read("fingerprint", fp);
  require(fp.toStringRef() == fingerprint(), "checkpoint '", path, "' was saved by a different architecture:\n  saved: ",
          fp.toStringRef(), "\n  this:  ", fingerprint());
  c10::IValue names_value;
  archive.read("tensor_names", names_value);
  auto names = names_value.toList();
  // Read and check everything before touching the model, so a bad file leaves it as it was.
  std::map<std::string, torch::Tensor> loaded;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string name = names.get(i).toStringRef();
    torch::Tensor t;
    archive.read("t" + std::to_string(i), t);
    auto it = named_.find(name);
    require(it != named_.end(), "checkpoint '", path, "' holds unknown tensor ", name);
    require(it->second.sizes() == t.sizes(), "checkpoint tensor ", name, " has shape ", t.sizes(), ", model has ",
            it->second.sizes());
    loaded[name] = t;
  }
  for (const auto& name : names_) require(loaded.count(name) > 0, "checkpoint '", path, "' lacks tensor ", name);
  c10::IValue step_value;
  archive.read("step", step_value);
  torch::Tensor rng_state;
  archive.read("rng_state", rng_state);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);

  optimizer_->load(optimizer_archive);
  torch::NoGradGuard no_grad;
  for (auto& entry : loaded) named_.at(entry.first).copy_(entry.second);
  gen_.set_state(rng_state);
  step_ = step_value.toInt();
}

}  // namespace ibot4j
