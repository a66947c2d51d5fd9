#include "model.h"

#include <ATen/autocast_mode.h>

#include <cmath>
#include <functional>
#include <set>
#include <sstream>

#include "autocast.h"
#include "collapse.h"
#include "common.h"

namespace ibot4j {

namespace {

uint64_t mix_seed(uint64_t seed, int64_t rank, int64_t step) {
  uint64_t h = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(rank) * 0xC2B2AE3D27D4EB4FULL +
               static_cast<uint64_t>(step) * 0x165667B19E3779F9ULL;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  return h;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

NetworkImpl::NetworkImpl(const Config& c, bool student) {
  backbone = register_module("backbone", VisionTransformer(c, student));
  head = register_module("head", IbotHead(c, student ? c.shared_head != 0 : c.shared_head_teacher != 0));
  if (student && c.distill_loss_weight > 0) {
    distill_proj = register_module("distill_proj", torch::nn::Linear(c.embed_dim, c.distill_embed_dim));
  }
}

Model::Model(const Config& c)
    : config_((validate(c), c)),
      device_(device_of(c)),
      gen_(at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(c.seed))),
      loss_(c, device_of(c)) {
  student_ = Network(c, /*student=*/true);
  teacher_ = Network(c, /*student=*/false);
  student_->backbone->init_weights(gen_);
  student_->head->init_weights(gen_);
  if (!student_->distill_proj.is_empty()) {
    // As the heads' linear layers: small weights from the model's own generator, zero bias.
    torch::NoGradGuard no_grad;
    student_->distill_proj->weight.normal_(0.0, 0.02, gen_);
    student_->distill_proj->bias.zero_();
  }
  copy_student_into_teacher();
  for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
  student_->to(device_);
  teacher_->to(device_);

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
      TORCH_CHECK(item.key().rfind("backbone.", 0) != 0 || ema_backbone_pairs_ == ema_teacher_.size(),
                  "the teacher's backbone parameters must come before its head's");
      if (item.key().rfind("backbone.", 0) == 0) ++ema_backbone_pairs_;
      ema_teacher_.push_back(item.value());
      ema_student_.push_back(named_["student." + item.key()]);
    }
  }
  named_["loss.center"] = loss_.center;
  named_["loss.center2"] = loss_.center2;
  names_.push_back("loss.center");
  names_.push_back("loss.center2");
  if (c.gram_loss_weight > 0) {
    // DINOv3's Gram teacher: a third backbone, never trained; refresh_gram_teacher sets it (step params).
    gram_teacher_ = VisionTransformer(c, /*student=*/false);
    gram_teacher_->to(device_);
    gram_teacher_->eval();
    auto sources = teacher_->backbone->named_parameters();
    for (auto& item : gram_teacher_->named_parameters()) {
      item.value().set_requires_grad(false);
      named_["gram.backbone." + item.key()] = item.value();
      names_.push_back("gram.backbone." + item.key());
      gram_params_.push_back(item.value());
      gram_sources_.push_back(sources[item.key()]);
    }
    refresh_gram_teacher();
  }
  if (c.distill_loss_weight > 0) {
    // The teacher of feature distillation: another backbone, frozen; its weights are written by name (distill.*).
    distill_teacher_ = VisionTransformer(distill_teacher_config(c), /*student=*/false);
    distill_teacher_->to(device_);
    distill_teacher_->eval();
    for (auto& item : distill_teacher_->named_parameters()) {
      item.value().set_requires_grad(false);
      named_["distill.backbone." + item.key()] = item.value();
      names_.push_back("distill.backbone." + item.key());
    }
  }
  build_optimizer();
}

void Model::refresh_gram_teacher() {
  torch::NoGradGuard no_grad;
  at::_foreach_copy_(gram_params_, gram_sources_);
}

void Model::copy_student_into_teacher() {
  // The official teacher loads the student's state dict non-strictly: shared names are copied,
  // the student-only mask token and patch projection are ignored.
  torch::NoGradGuard no_grad;
  auto student_params = student_->named_parameters();
  // Official quirk kept: a shared teacher head aliases last_layer2 to last_layer, and the non-strict
  // load writes last_layer2 last, so an unshared student's *patch* projection seeds it.
  const bool patch_seeds_shared = config_.shared_head_teacher != 0 && config_.shared_head == 0;
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
  for (const auto& item : student_->named_parameters()) {
    auto p = item.value();
    if (!p.requires_grad()) continue;
    student_params_.emplace_back(item.key(), p);
    // iBOT's get_params_groups: no weight decay on biases and 1-D tensors (norms).
    if (ends_with(item.key(), ".bias") || p.dim() == 1) {
      not_regularized_.push_back(p);
      lr_scales_[1].push_back(lr_scale(item.key()));
    } else {
      regularized_.push_back(p);
      lr_scales_[0].push_back(lr_scale(item.key()));
    }
    if (item.key().find("last_layer") != std::string::npos) last_layer_params_.push_back(p);
  }
  optimizer_ = make_optimizer();
}

double Model::lr_scale(const std::string& name) const {
  const std::string backbone = "backbone.", blocks = "backbone.blocks.";
  if (name.rfind(backbone, 0) != 0) return 1.0;
  // DINOv2's get_vit_lr_decay_rate: the embeddings and tokens are layer 0, block i layer i + 1, the final
  // norm depth + 1 (as the heads); each layer below depth + 1 gets one more factor of the decay.
  const int64_t depth = config_.depth;
  int64_t layer = 0;
  if (name.rfind(blocks, 0) == 0) {
    layer = std::stoll(name.substr(blocks.size(), name.find('.', blocks.size()) - blocks.size())) + 1;
  } else if (name.rfind("backbone.norm.", 0) == 0) {
    layer = depth + 1;
  }
  return config_.backbone_lr_multiplier * std::pow(config_.layer_decay, static_cast<double>(depth + 1 - layer));
}

std::unique_ptr<AdamW> Model::make_optimizer() const {
  return std::make_unique<AdamW>(regularized_, not_regularized_, config_.beta1, config_.beta2, config_.eps,
                                 std::vector<std::vector<double>>{lr_scales_[0], lr_scales_[1]});
}

torch::Tensor Model::clip_gradients(double clip) {
  std::vector<torch::Tensor> grads;
  grads.reserve(student_params_.size());
  for (auto& entry : student_params_) {
    if (entry.second.grad().defined()) grads.push_back(entry.second.grad());
  }
  auto options = torch::TensorOptions().device(device_).dtype(torch::kFloat64);
  if (grads.empty()) return torch::zeros({}, options);
  auto norms = torch::stack(at::_foreach_norm(grads, 2)).to(torch::kFloat64);
  if (clip > 0.0) {
    // Per-parameter clipping, as the official clip_gradients (not a global norm): a factor of 1 leaves
    // a gradient as it is, so every gradient is scaled on the device without asking which ones exceed.
    auto coefs = (clip / (norms + 1e-6)).clamp_max(1.0).to(torch::kFloat32);
    at::_foreach_mul_(grads, coefs.unbind(0));
  }
  return norms.square().sum().sqrt();
}

void Model::ema_update(double momentum, const torch::Tensor& skip, bool frozen_backbone) {
  torch::NoGradGuard no_grad;
  // teacher += (1 - m) * (student - teacher) in one pass, with weight 0 when the step is skipped. A frozen
  // backbone is left out rather than lerped towards an equal student: m x + (1 - m) x need not round to x.
  auto weight = (1.0 - skip) * (1.0 - momentum);
  const size_t first = frozen_backbone ? ema_backbone_pairs_ : 0;
  std::vector<torch::Tensor> teacher(ema_teacher_.begin() + first, ema_teacher_.end());
  std::vector<torch::Tensor> student(ema_student_.begin() + first, ema_student_.end());
  if (teacher.empty()) return;
  at::_foreach_lerp_(teacher, student, std::vector<torch::Tensor>(teacher.size(), weight));
}

namespace {
// The one place a step's batch and scalars are checked against the model.
int64_t check_step(const Config& c, const Batch& batch, const StepParams& params) {
  const int64_t b = batch.batch_size, g = batch.n_global, l = batch.n_local, p = c.patch_size;
  require(b >= 1, "batch_size must be >= 1, got ", b);
  require(g >= 1 && l >= 0, "need n_global >= 1 and n_local >= 0, got ", g, " and ", l);
  require(g * (g + l) - g > 0, "the CLS loss needs at least one cross-view pair: n_global=", g, " n_local=", l);
  const auto& gc = batch.global_crops;
  require(gc.dim() == 4 && gc.size(0) == b * g && gc.size(1) == c.in_chans,
          "global crops must be [batch_size*n_global=", b * g, ", in_chans=", c.in_chans, ", H, W], got ", gc.sizes());
  require(gc.size(2) > 0 && gc.size(2) % p == 0 && gc.size(3) % p == 0, "global crop size ", gc.size(2), "x",
          gc.size(3), " is not a positive multiple of patch_size ", p);
  const int64_t gh = gc.size(2) / p, gw = gc.size(3) / p;
  require(
      batch.masks.dim() == 3 && batch.masks.size(0) == b * g && batch.masks.size(1) == gh && batch.masks.size(2) == gw,
      "masks must be [", b * g, ", ", gh, ", ", gw, "], got ", batch.masks.sizes());
  if (l > 0) {
    const auto& lc = batch.local_crops;
    require(lc.defined() && lc.dim() == 4 && lc.size(0) == b * l && lc.size(1) == c.in_chans,
            "local crops must be [batch_size*n_local=", b * l, ", in_chans=", c.in_chans, ", h, w]");
    require(lc.size(2) > 0 && lc.size(2) % p == 0 && lc.size(3) % p == 0, "local crop size ", lc.size(2), "x",
            lc.size(3), " is not a positive multiple of patch_size ", p);
  }
  require(params.teacher_temp > 0 && params.teacher_patch_temp > 0, "teacher temperatures must be > 0");
  require(c.koleo_loss_weight == 0 || b >= 2,
          "koleo_loss_weight > 0 needs at least 2 images per step (a nearest "
          "neighbour in the batch), got batch_size ",
          b);
  require(params.teacher_momentum >= 0 && params.teacher_momentum <= 1, "teacher_momentum must be in [0, 1], got ",
          params.teacher_momentum);
  require(
      c.distill_loss_weight == 0 || (gc.size(2) % c.distill_patch_size == 0 && gc.size(3) % c.distill_patch_size == 0),
      "global crop size ", gc.size(2), "x", gc.size(3), " is not a multiple of the distillation teacher's patch size ",
      c.distill_patch_size);
  require(
      c.gram_loss_weight == 0 || gh * gw >= 2,
      "gram_loss_weight > 0 needs at least 2 patch tokens per global crop (a Gram matrix of one normalised token is "
      "always 1), got ",
      gh * gw);
  require(params.lr >= 0 && params.weight_decay >= 0 && params.clip_grad >= 0,
          "lr, weight_decay and clip_grad must be >= 0");
  return gh * gw;
}
}  // namespace

StepResult Model::train_step(const Batch& batch, const StepParams& params) {
  const int64_t n_patches = check_step(config_, batch, params);
  const int64_t b = batch.batch_size, g = batch.n_global, l = batch.n_local;
  // In a group each rank draws its own drop-path masks from (seed, rank, step): a resumed rank draws
  // what it would have drawn, whatever generator state the checkpoint (rank 0's) holds.
  if (comm_) gen_.set_current_seed(mix_seed(static_cast<uint64_t>(config_.seed), comm_->rank(), step_));
  // On a GPU the masks come from a device generator seeded from (seed, rank, step): drawn where they
  // are used, and a resumed run draws what it would have drawn.
  at::Generator* drop_path_gen = &gen_;
  if (device_.is_cuda()) {
    if (!device_gen_.defined()) device_gen_ = at::globalContext().defaultGenerator(device_).clone();
    device_gen_.set_current_seed(mix_seed(static_cast<uint64_t>(config_.seed), comm_ ? comm_->rank() : 0, step_));
    drop_path_gen = &device_gen_;
  }
  const bool autocast = config_.bf16_autocast != 0;
  const auto device = device_;
  auto global = batch.global_crops.to(device);
  auto masks = batch.masks.to(device, torch::kBool);
  auto masks_flat = masks.flatten(1);  // [G*B, N]
  // The batch's masks are on the host: their true cells are counted there, not on the device.
  auto host_index = batch.masks.to(torch::kBool).flatten().nonzero().squeeze(1);  // over [G*B, N]
  auto mask_index = host_index.to(device);
  // The same cells among the backbone's tokens [G*B, 1+N]: each crop's [CLS] comes first.
  auto token_index = (host_index + host_index.div(n_patches, "floor") + 1).to(device);

  const bool frozen = params.freeze_backbone != 0;
  if (params.gram_refresh != 0) {
    require(!gram_teacher_.is_empty(), "gram_refresh needs a model with gram_loss_weight > 0");
    refresh_gram_teacher();
  }
  torch::Tensor gram_targets;  // [G*B, N, D], the Gram teacher's patch tokens
  if (!gram_teacher_.is_empty()) {
    torch::NoGradGuard no_grad;
    AutocastScope autocast_scope(autocast, device.type());
    gram_targets = gram_teacher_->forward(global, std::nullopt, nullptr).narrow(1, 1, n_patches);
  }
  torch::Tensor distill_targets;  // [G*B, 1+M, D_t], the distillation teacher's tokens
  if (!distill_teacher_.is_empty()) {
    torch::NoGradGuard no_grad;
    AutocastScope autocast_scope(autocast, device.type());
    distill_targets = distill_teacher_->forward(global, std::nullopt, nullptr);
  }
  torch::Tensor teacher_cls, teacher_patch, teacher_embedding;
  {
    torch::NoGradGuard no_grad;
    AutocastScope autocast_scope(autocast, device.type());
    auto tokens = teacher_->backbone->forward(global, std::nullopt, nullptr);
    teacher_embedding = tokens.select(1, 0);  // [G*B, D], for the effective rank
    auto z = teacher_->head->embed(tokens);
    teacher_cls = teacher_->head->cls_logits(z.select(1, 0));
    teacher_patch = teacher_->head->patch_logits(z.narrow(1, 1, n_patches));
  }

  LossValues loss;
  torch::Tensor student_global_cls;      // [G*B, D], for KoLeo
  torch::Tensor student_global_patches;  // [G*B, N, D], for Gram anchoring
  torch::Tensor student_global_tokens;   // [G*B, 1+N, D], for distillation
  {
    AutocastScope autocast_scope(autocast, device.type());
    // A frozen backbone runs without a graph: only the heads receive gradients, and none is computed for it.
    std::optional<torch::NoGradGuard> backbone_frozen;
    if (frozen) backbone_frozen.emplace();
    auto student_global = student_->backbone->forward(global, masks, drop_path_gen);
    student_global_cls = student_global.select(1, 0);
    if (!gram_teacher_.is_empty()) student_global_patches = student_global.narrow(1, 1, n_patches);
    if (!distill_teacher_.is_empty()) student_global_tokens = student_global;
    std::vector<torch::Tensor> cls_tokens{student_global.select(1, 0)};
    if (l > 0) {
      auto student_local = student_->backbone->forward(batch.local_crops.to(device), std::nullopt, drop_path_gen);
      cls_tokens.push_back(student_local.select(1, 0));
    }
    backbone_frozen.reset();
    // The head runs only where the loss reads it: CLS of every crop and masked patches of global crops.
    auto masked_tokens = student_global.reshape({-1, student_global.size(2)}).index_select(0, token_index);
    const int64_t n_cls = (g + l) * b;
    cls_tokens.push_back(masked_tokens);
    auto z = student_->head->embed(torch::cat(cls_tokens, 0));
    LossInputs in;
    in.student_cls = student_->head->cls_logits(z.narrow(0, 0, n_cls));
    in.student_patch_masked = student_->head->patch_logits(z.narrow(0, n_cls, masked_tokens.size(0)));
    in.teacher_cls = teacher_cls;
    in.teacher_patch = teacher_patch;
    in.masks = masks_flat;
    in.mask_index = mask_index;
    in.batch_size = b;
    in.n_global = g;
    in.n_local = l;
    in.teacher_temp = params.teacher_temp;
    in.teacher_patch_temp = params.teacher_patch_temp;
    loss = loss_.compute(in);
  }
  // DINOv2's KoLeo on the student's global [CLS] tokens, per global crop, summed, in fp32 outside autocast.
  torch::Tensor koleo = torch::zeros({}, loss.total.options().dtype(torch::kFloat32));
  if (config_.koleo_loss_weight > 0) {
    for (const auto& crop : student_global_cls.chunk(g)) koleo = koleo + koleo_loss(crop);
    koleo = koleo * config_.koleo_loss_weight;
    loss.total = loss.total + koleo;
  }
  // DINOv3's Gram anchoring on the student's (masked) global crops' patch tokens, fp32 outside autocast.
  torch::Tensor gram = torch::zeros({}, loss.total.options().dtype(torch::kFloat32));
  if (!gram_teacher_.is_empty()) {
    gram = gram_loss(student_global_patches, gram_targets) * config_.gram_loss_weight;
    loss.total = loss.total + gram;
  }
  torch::Tensor distill = torch::zeros({}, loss.total.options().dtype(torch::kFloat32));
  if (!distill_teacher_.is_empty()) {
    auto projected = student_->distill_proj->forward(student_global_tokens.to(torch::kFloat32));
    distill = distill_loss(projected, distill_targets) * config_.distill_loss_weight;
    loss.total = loss.total + distill;
  }

  // From here on nothing waits for the device: whether the step counts (finite loss and gradient
  // norm) is a device tensor that gates the optimiser, the EMA and the centres, and the step's
  // numbers come back in one copy at the end. A skipped step changes nothing but the gradients.
  torch::Tensor reduced;  // in a group: the losses' and centres' sums over the ranks
  torch::Tensor losses;
  if (comm_) {
    reduced = reduce_step_values(loss, {koleo, gram, distill}, teacher_cls, teacher_patch);
    losses = reduced.narrow(0, 0, 6) / static_cast<double>(comm_->size());
  } else {
    losses = torch::stack({loss.total.detach(), loss.cls.detach(), loss.patch.detach(), koleo.detach(), gram.detach(),
                           distill.detach()})
                 .to(torch::kFloat64);
  }
  // Collapse metrics from what the step already holds (no extra forward pass), read back with the losses.
  auto metrics = collapse_metrics(loss.cls_targets, loss.patch_targets, teacher_embedding);

  optimizer_->zero_grad();
  loss.total.backward();
  if (comm_) average_gradients();  // before clipping, as DDP's averaged gradients reach clip_gradients
  auto grad_norm = clip_gradients(params.clip_grad);
  // In a group the sums are non-finite when any rank's are: every rank skips the same steps. A finite
  // loss whose gradient norm overflowed is skipped too (clipping by an infinite norm zeroes the
  // gradients, and weight decay and momentum would still move the weights).
  auto skip = torch::logical_not(torch::isfinite(losses[0]) & torch::isfinite(grad_norm)).to(torch::kFloat32);
  if (params.freeze_last_layer != 0) {
    // A gradient of None makes AdamW skip the parameter entirely, as in cancel_gradients_last_layer.
    for (auto& param : last_layer_params_) param.mutable_grad() = torch::Tensor();
  }
  optimizer_->step(params.lr, params.weight_decay, skip);
  // Gradients stay until the next step's zero_grad (as in the official loop), readable as "grad.*".
  ema_update(params.teacher_momentum, skip, frozen);
  if (comm_) {
    // The official loss all-reduces the batch's centre sums and divides by the global batch.
    const int64_t k = loss_.center.size(1), kp = loss_.center2.size(2);
    const double crops = static_cast<double>(teacher_cls.size(0)) * comm_->size();
    loss_.update_centers_from_sums(reduced.narrow(0, 6, k).view({1, k}), reduced.narrow(0, 6 + k, kp).view({1, 1, kp}),
                                   crops, skip);
  } else {
    loss_.update_centers(teacher_cls, teacher_patch, skip);
  }

  auto values =
      torch::cat({losses, grad_norm.to(torch::kFloat64).view({1}), skip.to(torch::kFloat64).view({1}), metrics})
          .to(torch::kCPU);
  auto v = values.accessor<double, 1>();
  StepResult result;
  result.loss = v[0];
  result.cls_loss = v[1];
  result.patch_loss = v[2];
  result.koleo_loss = v[3];
  result.gram_loss = v[4];
  result.distill_loss = v[5];
  result.finite = v[7] == 0.0;
  result.grad_norm = result.finite ? v[6] : 0.0;
  result.teacher_cls_entropy = v[8];
  result.teacher_patch_entropy = v[9];
  result.prototypes_used = static_cast<int64_t>(v[10]);
  result.effective_rank = v[11];
  if (result.finite) ++step_;
  result.step = step_;
  return result;
}

void Model::check_images(const torch::Tensor& images) const { ibot4j::check_images(config_, images); }

torch::Tensor Model::embed(bool is_teacher, const torch::Tensor& images, const std::optional<torch::Tensor>& masks) {
  torch::NoGradGuard no_grad;
  check_images(images);
  auto& net = is_teacher ? teacher_ : student_;
  std::optional<torch::Tensor> device_masks;
  if (masks.has_value()) device_masks = masks->to(device_, torch::kBool);
  return net->backbone->forward(images.to(device_), device_masks, nullptr);
}

torch::Tensor Model::embed_cls(bool is_teacher, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  check_images(images);
  return (is_teacher ? teacher_ : student_)->backbone->forward_cls(images.to(device_));
}

std::pair<torch::Tensor, torch::Tensor> Model::head_logits(bool is_teacher, const torch::Tensor& tokens) {
  torch::NoGradGuard no_grad;
  require(tokens.dim() == 3 && tokens.size(0) > 0 && tokens.size(2) == config_.embed_dim && tokens.size(1) >= 1,
          "tokens must be [n, T, embed_dim=", config_.embed_dim, "], got ", tokens.sizes());
  auto& net = is_teacher ? teacher_ : student_;
  auto z = net->head->embed(tokens.to(device_));
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
  require(it != named_.end(), "no tensor named '", name,
          "' (names: student.*, teacher.*, loss.center, loss.center2, gram.* with Gram anchoring)");
  return it->second;
}

void Model::join(std::shared_ptr<Communicator> comm) {
  require(comm != nullptr, "group is NULL");
  require(config_.centering != IBOT4J_CENTERING_SINKHORN_KNOPP,
          "centering sinkhorn_knopp is not supported data-parallel yet (its normalisations would need all-reduces); "
          "use the default centering with a group");
  // Every rank must hold the same architecture before tensors are exchanged by position.
  const auto fingerprint = architecture_fingerprint(config_);
  const double local = static_cast<double>(std::hash<std::string>{}(fingerprint) & ((1ULL << 52) - 1));
  auto low = torch::full({1}, local, torch::kFloat64).to(device_), high = low.clone();
  comm->all_reduce(low, Communicator::Op::Min, "the configuration check");
  comm->all_reduce(high, Communicator::Op::Max, "the configuration check");
  require(low.item<double>() == high.item<double>(),
          "the ranks' models differ in architecture (this rank: ", fingerprint,
          "); every rank must use the same options");
  std::vector<torch::Tensor> state;
  for (const auto& name : names_) state.push_back(named_.at(name));
  {
    torch::NoGradGuard no_grad;
    comm->broadcast(state, 0, "the broadcast of rank 0's weights");
  }
  comm_ = std::move(comm);
}

void Model::average_gradients() {
  int64_t total = 0;
  for (const auto& entry : student_params_) total += entry.second.numel();
  const int64_t n_params = static_cast<int64_t>(student_params_.size());
  if (!flat_grads_.defined()) flat_grads_ = torch::zeros({total + n_params}, torch::TensorOptions().device(device_));
  auto flags = flat_grads_.narrow(0, total, n_params);
  int64_t offset = 0;
  for (int64_t i = 0; i < n_params; ++i) {
    const auto& p = student_params_[static_cast<size_t>(i)].second;
    auto slot = flat_grads_.narrow(0, offset, p.numel());
    // A parameter may have no gradient on one rank and one on another (the mask token when a rank
    // masked nothing): it counts as zero here and gets the average wherever any rank had one.
    if (p.grad().defined()) {
      slot.copy_(p.grad().reshape({-1}));
      flags[i].fill_(1.0);
    } else {
      slot.zero_();
      flags[i].fill_(0.0);
    }
    offset += p.numel();
  }
  comm_->all_reduce(flat_grads_, Communicator::Op::Sum, "the gradient all-reduce");
  auto had = flags.to(torch::kCPU);
  auto had_acc = had.accessor<float, 1>();
  const double scale = 1.0 / comm_->size();
  offset = 0;
  for (int64_t i = 0; i < n_params; ++i) {
    auto& p = student_params_[static_cast<size_t>(i)].second;
    auto slot = flat_grads_.narrow(0, offset, p.numel()).view(p.sizes());
    if (had_acc[i] > 0) {
      if (!p.grad().defined()) p.mutable_grad() = torch::empty_like(p);
      p.mutable_grad().copy_(slot).mul_(scale);
    }
    offset += p.numel();
  }
}

torch::Tensor Model::reduce_step_values(const LossValues& loss, const std::vector<torch::Tensor>& extra,
                                        const torch::Tensor& teacher_cls, const torch::Tensor& teacher_patch) {
  // One small all-reduce: the loss terms (total, cls, patch, then koleo, gram, distill), then the centre sums of the
  // official loss.
  auto t_cls = teacher_cls.to(torch::kFloat64);
  auto t_patch = teacher_patch.to(torch::kFloat64);
  std::vector<torch::Tensor> terms{loss.total.detach(), loss.cls.detach(), loss.patch.detach()};
  for (const auto& t : extra) terms.push_back(t.detach());
  auto packed =
      torch::cat({torch::stack(terms).to(torch::kFloat64), torch::sum(t_cls, 0), torch::sum(t_patch.mean(1), 0)});
  comm_->all_reduce(packed, Communicator::Op::Sum, "the loss and centre all-reduce");
  return packed;
}

StepResult Model::loss(const LossArguments& a, bool update_center) {
  torch::NoGradGuard no_grad;
  const int64_t b = a.batch_size, g = a.n_global, l = a.n_local;
  require(b > 0 && g > 0 && l >= 0, "batch_size and n_global must be > 0 and n_local >= 0");
  require(a.teacher_temp > 0 && a.teacher_patch_temp > 0, "teacher temperatures must be > 0");
  LossInputs in;
  in.student_cls = a.student_cls.to(device_);
  in.teacher_cls = a.teacher_cls.to(device_);
  in.teacher_patch = a.teacher_patch.to(device_);
  in.masks = a.masks.to(device_, torch::kBool);
  in.student_patch_masked = a.student_patch.to(device_).index({in.masks});
  in.batch_size = b;
  in.n_global = g;
  in.n_local = l;
  in.teacher_temp = a.teacher_temp;
  in.teacher_patch_temp = a.teacher_patch_temp;
  auto values = loss_.compute(in);
  StepResult result;
  result.loss = values.total.item<double>();
  result.cls_loss = values.cls.item<double>();
  result.patch_loss = values.patch.item<double>();
  result.finite = std::isfinite(result.loss);
  if (update_center) loss_.update_centers(in.teacher_cls, in.teacher_patch);
  return result;
}

}  // namespace ibot4j
