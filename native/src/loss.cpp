#include "loss.h"

#include <cmath>

#include "common.h"

namespace ibot4j {

IbotLoss::IbotLoss(const Config& c, torch::Device device)
    : student_temp(c.student_temp),
      center_momentum(c.center_momentum),
      center_momentum2(c.center_momentum2),
      lambda1(c.lambda1),
      lambda2(c.lambda2),
      sinkhorn(c.centering == IBOT4J_CENTERING_SINKHORN_KNOPP),
      center(torch::zeros({1, c.out_dim}, torch::TensorOptions().device(device))),
      center2(torch::zeros({1, 1, patch_logits_dim(c)}, torch::TensorOptions().device(device))) {}

LossValues IbotLoss::compute(const LossInputs& in) const {
  const int64_t b = in.batch_size, g = in.n_global, views = in.n_global + in.n_local;
  require(g >= 1 && b >= 1, "need at least one image and one global crop");
  auto student_ls = torch::log_softmax(in.student_cls.to(torch::kFloat32) / student_temp, -1).chunk(views);
  auto cls_targets = sinkhorn
                         ? sinkhorn_knopp(in.teacher_cls.detach(), in.teacher_temp)
                         : torch::softmax((in.teacher_cls.to(torch::kFloat32) - center) / in.teacher_temp, -1).detach();
  auto teacher_p = cls_targets.chunk(g);

  // CLS term over every (teacher global q, student view v != q) pair, each a mean over images.
  torch::Tensor cls_sum = torch::zeros({}, center.options());
  int64_t n_cls_terms = 0;
  for (int64_t q = 0; q < g; ++q) {
    for (int64_t v = 0; v < views; ++v) {
      if (v == q) continue;
      cls_sum = cls_sum + torch::sum(-teacher_p[q] * student_ls[v], -1).mean();
      ++n_cls_terms;
    }
  }
  auto cls = n_cls_terms > 0 ? cls_sum * (lambda1 / static_cast<double>(n_cls_terms)) : cls_sum;

  // Patch term, same view only, over masked tokens: per image the mean over its masked tokens, then
  // the mean over all B images of the crop (unmasked images count as 0), then over the G crops.
  // Only masked rows are ever read, so only they are passed in.
  auto masks = in.masks.to(torch::kBool);
  const int64_t n_patches = masks.size(1);
  // Selecting by index rather than by boolean mask: a boolean selection's size is known only after the
  // device has counted, so it would wait for the device every step.
  auto mask_index = in.mask_index.defined() ? in.mask_index : masks.flatten().nonzero().squeeze(1);  // [M]
  auto per_image_count = masks.sum(1).clamp_min(1).to(torch::kFloat32);                              // [G*B]
  auto image_of_token = mask_index.div(n_patches, "floor");                                          // [M]
  // Sinkhorn-Knopp, as DINOv2's iBOT loss, normalises over the masked tokens only.
  auto teacher_patch_p =
      sinkhorn
          ? sinkhorn_knopp(in.teacher_patch.detach().flatten(0, 1).index_select(0, mask_index), in.teacher_patch_temp)
          : torch::softmax((in.teacher_patch.to(torch::kFloat32) - center2) / in.teacher_patch_temp, -1)
                .detach()
                .flatten(0, 1)
                .index_select(0, mask_index);  // [M, K']
  auto student_patch_ls = torch::log_softmax(in.student_patch_masked.to(torch::kFloat32) / student_temp, -1);
  auto token_ce = torch::sum(-teacher_patch_p * student_patch_ls, -1);  // [M]
  auto token_weight = per_image_count.index_select(0, image_of_token).reciprocal();
  auto patch = torch::sum(token_ce * token_weight) * (lambda2 / static_cast<double>(b * g));

  return {cls + patch, cls, patch, cls_targets, teacher_patch_p};
}

torch::Tensor sinkhorn_knopp(const torch::Tensor& logits, double temp, int64_t iterations) {
  torch::NoGradGuard no_grad;
  auto t = logits.to(torch::kFloat32);
  const double rows = static_cast<double>(t.size(0)), k = static_cast<double>(t.size(1));
  if (t.size(0) == 0) return t.clone();
  auto q = torch::exp((t - t.max()) / temp).t();  // [K, R] as DINOv2 writes it
  q = q / q.sum();
  for (int64_t i = 0; i < iterations; ++i) {
    q = q / q.sum(1, true) / k;     // every prototype gets 1/K of the mass
    q = q / q.sum(0, true) / rows;  // every row 1/R
  }
  return (q * rows).t();
}

torch::Tensor koleo_loss(const torch::Tensor& x_in) {
  namespace F = torch::nn::functional;
  auto x = F::normalize(x_in.to(torch::kFloat32), F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-8));
  torch::Tensor nearest;
  {
    torch::NoGradGuard no_grad;
    auto dots = torch::mm(x, x.t());
    dots.fill_diagonal_(-1);  // a row is not its own neighbour
    nearest = dots.argmax(1);
  }
  auto distances = torch::pairwise_distance(x, x.index_select(0, nearest), 2, 1e-8);
  return -torch::log(distances + 1e-8).mean();
}

torch::Tensor gram_loss(const torch::Tensor& student, const torch::Tensor& teacher) {
  namespace F = torch::nn::functional;
  auto normalize = [](const torch::Tensor& x) {
    return F::normalize(x.to(torch::kFloat32), F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
  };
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    auto t = normalize(teacher);
    target = torch::bmm(t, t.transpose(1, 2));
  }
  auto s = normalize(student);
  return torch::mse_loss(torch::bmm(s, s.transpose(1, 2)), target);
}

torch::Tensor distill_loss(const torch::Tensor& student, const torch::Tensor& teacher) {
  namespace F = torch::nn::functional;
  auto normalize = [](const torch::Tensor& x) {
    return F::normalize(x.to(torch::kFloat32), F::NormalizeFuncOptions().p(2).dim(-1).eps(1e-12));
  };
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    auto t = teacher.to(torch::kFloat32);
    const int64_t n = t.size(0), d = t.size(2), m = t.size(1) - 1, tokens = student.size(1) - 1;
    if (m != tokens) {
      const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(m))));
      const auto to = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(tokens))));
      auto grid = t.narrow(1, 1, m).reshape({n, side, side, d}).permute({0, 3, 1, 2});
      auto resized = F::interpolate(
          grid,
          F::InterpolateFuncOptions().size(std::vector<int64_t>{to, to}).mode(torch::kBilinear).align_corners(false));
      t = torch::cat({t.narrow(1, 0, 1), resized.flatten(2).transpose(1, 2)}, 1);
    }
    target = normalize(t);
  }
  return (normalize(student) - target).square().sum(-1).mean();
}

namespace {
// center <- m*center + (1-m)*batch_center, in place (the tensors stay the ones exposed by name); a
// skipped step keeps the old values even where batch_center is not finite.
void move_center(torch::Tensor& center, const torch::Tensor& batch_center, double momentum, const torch::Tensor& skip) {
  auto moved = center * momentum + batch_center * (1.0 - momentum);
  center.copy_(skip.defined() ? torch::where(skip > 0, center, moved) : moved);
}
}  // namespace

void IbotLoss::update_centers_from_sums(const torch::Tensor& cls_sum, const torch::Tensor& patch_sum, double count,
                                        const torch::Tensor& skip) {
  if (sinkhorn) return;  // DINOv2 keeps no centre with Sinkhorn-Knopp
  torch::NoGradGuard no_grad;
  move_center(center, cls_sum.to(center.scalar_type()) / count, center_momentum, skip);
  move_center(center2, patch_sum.to(center2.scalar_type()) / count, center_momentum2, skip);
}

void IbotLoss::update_centers(const torch::Tensor& teacher_cls, const torch::Tensor& teacher_patch,
                              const torch::Tensor& skip) {
  if (sinkhorn) return;
  torch::NoGradGuard no_grad;
  auto t_cls = teacher_cls.to(torch::kFloat32);
  auto t_patch = teacher_patch.to(torch::kFloat32);
  move_center(center, torch::sum(t_cls, 0, true) / static_cast<double>(t_cls.size(0)), center_momentum, skip);
  move_center(center2, torch::sum(t_patch.mean(1), 0, true) / static_cast<double>(t_patch.size(0)), center_momentum2,
              skip);
}

}  // namespace ibot4j
