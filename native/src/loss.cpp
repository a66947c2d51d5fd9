#include "loss.h"

#include "common.h"

namespace ibot4j {

IbotLoss::IbotLoss(const Config& c, torch::Device device)
    : student_temp(c.student_temp),
      center_momentum(c.center_momentum),
      center_momentum2(c.center_momentum2),
      lambda1(c.lambda1),
      lambda2(c.lambda2),
      center(torch::zeros({1, c.out_dim}, torch::TensorOptions().device(device))),
      center2(torch::zeros({1, 1, patch_logits_dim(c)}, torch::TensorOptions().device(device))) {}

LossValues IbotLoss::compute(const LossInputs& in) const {
  const int64_t b = in.batch_size, g = in.n_global, views = in.n_global + in.n_local;
  require(g >= 1 && b >= 1, "need at least one image and one global crop");
  auto student_ls = torch::log_softmax(in.student_cls.to(torch::kFloat32) / student_temp, -1).chunk(views);
  auto teacher_p =
      torch::softmax((in.teacher_cls.to(torch::kFloat32) - center) / in.teacher_temp, -1).detach().chunk(g);

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
  auto per_image_count = masks.sum(1).clamp_min(1).to(torch::kFloat32);  // [G*B]
  auto image_of_token = masks.nonzero().select(1, 0);                    // [M]
  auto teacher_patch_p = torch::softmax((in.teacher_patch.to(torch::kFloat32) - center2) / in.teacher_patch_temp, -1)
                             .detach()
                             .index({masks});  // [M, K']
  auto student_patch_ls = torch::log_softmax(in.student_patch_masked.to(torch::kFloat32) / student_temp, -1);
  auto token_ce = torch::sum(-teacher_patch_p * student_patch_ls, -1);  // [M]
  auto token_weight = per_image_count.index_select(0, image_of_token).reciprocal();
  auto patch = torch::sum(token_ce * token_weight) * (lambda2 / static_cast<double>(b * g));

  return {cls + patch, cls, patch};
}

void IbotLoss::update_centers_from_sums(const torch::Tensor& cls_sum, const torch::Tensor& patch_sum, double count) {
  torch::NoGradGuard no_grad;
  center.mul_(center_momentum).add_(cls_sum.to(center.scalar_type()) * ((1.0 - center_momentum) / count));
  center2.mul_(center_momentum2).add_(patch_sum.to(center2.scalar_type()) * ((1.0 - center_momentum2) / count));
}

void IbotLoss::update_centers(const torch::Tensor& teacher_cls, const torch::Tensor& teacher_patch) {
  // In place: the tensors stay the ones exposed by name.
  torch::NoGradGuard no_grad;
  auto t_cls = teacher_cls.to(torch::kFloat32);
  auto t_patch = teacher_patch.to(torch::kFloat32);
  auto batch_center = torch::sum(t_cls, 0, true) / static_cast<double>(t_cls.size(0));
  center.mul_(center_momentum).add_(batch_center * (1.0 - center_momentum));
  auto batch_center2 = torch::sum(t_patch.mean(1), 0, true) / static_cast<double>(t_patch.size(0));
  center2.mul_(center_momentum2).add_(batch_center2 * (1.0 - center_momentum2));
}

}  // namespace ibot4j
