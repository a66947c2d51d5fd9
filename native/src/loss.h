// iBOT loss (main_ibot.py: iBOTLoss) with its two EMA centres.
#pragma once

#include <torch/torch.h>

#include "config.h"

namespace ibot4j {

struct LossInputs {
  torch::Tensor student_cls;           // [(G+L)*B, K] raw logits, crop-major
  torch::Tensor student_patch_masked;  // [M, K'] raw logits of the masked tokens of the G global crops
  torch::Tensor teacher_cls;           // [G*B, K]
  torch::Tensor teacher_patch;         // [G*B, N, K']
  torch::Tensor masks;                 // bool [G*B, N]; the rows of student_patch_masked are masks' true cells in order
  torch::Tensor mask_index;            // optional: int64 [M], masks' true cells as flat indices (saves a device sync)
  int64_t batch_size = 0;
  int64_t n_global = 2;
  int64_t n_local = 0;
  double teacher_temp = 0.04;
  double teacher_patch_temp = 0.04;
};

struct LossValues {
  torch::Tensor total;  // scalar, differentiable w.r.t. the student logits
  torch::Tensor cls;
  torch::Tensor patch;
  // The teacher's targets the terms used (no grad): [G*B, K] and [M, K'] (the masked tokens' rows).
  torch::Tensor cls_targets;
  torch::Tensor patch_targets;
};

// DINOv2's sinkhorn_knopp_teacher: rows of logits [R, K] -> targets [R, K] whose rows sum to 1 and whose
// columns sum to R/K, after `iterations` alternating normalisations of exp(logits / temp) (fp32). The
// global maximum is subtracted before exp (a common factor of the matrix, cancelled exactly by the
// first normalisation) so that exp cannot overflow, e.g. for bf16 logits at temperature 0.04.
torch::Tensor sinkhorn_knopp(const torch::Tensor& logits, double temp, int64_t iterations = 3);

// DINOv2's KoLeoLoss on x [n, D] (fp32, outside autocast): L2-normalise the rows (eps 1e-8), find each
// row's nearest other row by inner product, -mean(log(pairwise_distance(x, nearest, eps 1e-8) + 1e-8)).
torch::Tensor koleo_loss(const torch::Tensor& x);

// DINOv3's GramLoss (normalized, img_level, neither negative removal) on patch features [n, N, D] (fp32,
// outside autocast): per image the N x N Gram matrix of the L2-normalised rows (F.normalize's eps 1e-12),
// student against teacher, mean squared difference over every entry of every image. The teacher's side
// needs no gradient.
torch::Tensor gram_loss(const torch::Tensor& student, const torch::Tensor& teacher);

// Feature distillation as lightly-train's: the student's tokens [n, 1+N, D_t] (already projected to the teacher's
// width) against the teacher's [n, 1+M, D_t], both L2-normalised; a teacher grid M of another size is resized to
// the student's N (bilinear over the patch grid, the [CLS] kept); the mean over tokens of the squared distance
// (2 - 2 cos). fp32, no gradient on the teacher's side.
torch::Tensor distill_loss(const torch::Tensor& student, const torch::Tensor& teacher);

class IbotLoss {
 public:
  IbotLoss(const Config& config, torch::Device device);
  // Uses the current centres; does not update them.
  LossValues compute(const LossInputs& in) const;
  // center <- m*center + (1-m)*batch mean of the raw teacher logits (all patch tokens for center2).
  // skip (optional, a 0-d device tensor): when non-zero the centres stay as they are.
  void update_centers(const torch::Tensor& teacher_cls, const torch::Tensor& teacher_patch,
                      const torch::Tensor& skip = {});
  // The same from sums over a whole group's batch: cls_sum [1, K], patch_sum [1, 1, K'] of `count` crops.
  void update_centers_from_sums(const torch::Tensor& cls_sum, const torch::Tensor& patch_sum, double count,
                                const torch::Tensor& skip = {});

  double student_temp, center_momentum, center_momentum2, lambda1, lambda2;
  bool sinkhorn;          // centering == IBOT4J_CENTERING_SINKHORN_KNOPP: targets by Sinkhorn-Knopp, centres never move
  torch::Tensor center;   // [1, K]
  torch::Tensor center2;  // [1, 1, K']
};

}  // namespace ibot4j
